package bytemarktest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

type session struct {
	username string
	factors  []string
	expires  time.Time
}

// maxBody bounds a request body; the real API's bodies are tiny.
const maxBody = 1 << 20

func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	return io.ReadAll(io.LimitReader(r.Body, maxBody))
}

// serveAuth is the auth host: POST /session and GET /session/{token}.
// rest is the path after "session".
func (s *Server) serveAuth(w http.ResponseWriter, r *http.Request, rest []string, body []byte) {
	switch {
	case len(rest) == 0 && r.Method == http.MethodPost:
		s.login(w, r, body)
	case len(rest) == 0:
		w.Header().Set("Allow", http.MethodPost)
		writeText(w, http.StatusMethodNotAllowed, "Method Not Allowed")
	case len(rest) == 1 && r.Method == http.MethodGet:
		s.readSession(w, rest[0])
	case len(rest) == 1 && r.Method == http.MethodPost:
		// Impersonation is for Bytemark staff only.
		s.mu.Lock()
		_, ok := s.liveSession(rest[0])
		s.mu.Unlock()
		if !ok {
			writeText(w, http.StatusNotFound, "Not Found")
			return
		}
		writeText(w, http.StatusForbidden, "Authentication failed: impersonation is not permitted")
	case len(rest) == 1:
		w.Header().Set("Allow", "GET, POST")
		writeText(w, http.StatusMethodNotAllowed, "Method Not Allowed")
	default:
		writeText(w, http.StatusNotFound, "Not Found")
	}
}

// login handles POST /session.
func (s *Server) login(w http.ResponseWriter, r *http.Request, body []byte) {
	if !isJSON(r) {
		writeText(w, http.StatusBadRequest, "Badly-formed parameters: Content-Type must be application/json")
		return
	}
	var params map[string]any
	if err := json.Unmarshal(body, &params); err != nil || params == nil {
		writeText(w, http.StatusBadRequest, "Badly-formed parameters")
		return
	}
	username, ok1 := params["username"].(string)
	password, ok2 := params["password"].(string)
	if !ok1 || !ok2 || username == "" {
		writeText(w, http.StatusBadRequest, "Badly-formed parameters")
		return
	}
	validity := DefaultSessionValidity
	if v, ok := params["validity"]; ok && v != nil {
		secs, ok := seconds(v)
		if !ok {
			writeText(w, http.StatusBadRequest, "Badly-formed parameters: validity must be a number of seconds")
			return
		}
		validity = min(time.Duration(secs)*time.Second, MaxSessionValidity)
	}
	factors := []string{"password"}
	for _, f := range []string{"yubikey", "2fa"} {
		v, ok := params[f]
		if !ok {
			continue
		}
		otp, isStr := v.(string)
		if !isStr || !validOTP(f, otp) {
			writeText(w, http.StatusUnauthorized, "Authentication failed: bad "+f+" OTP")
			return
		}
		factors = append(factors, f)
	}

	s.mu.Lock()
	want, known := s.users[username]
	if !known || want != password {
		s.mu.Unlock()
		writeText(w, http.StatusUnauthorized, "Bad login credentials")
		return
	}
	token := newToken()
	s.sessions[token] = &session{username: username, factors: factors, expires: s.now().Add(validity)}
	s.mu.Unlock()

	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, token) // no trailing newline: clients use the body as is
}

// readSession handles GET /session/{token}.
func (s *Server) readSession(w http.ResponseWriter, token string) {
	s.mu.Lock()
	ss, ok := s.liveSession(token)
	if ok {
		s.touch(ss)
	}
	var out struct {
		Username         string   `json:"username"`
		Factors          []string `json:"factors"`
		GroupMemberships []string `json:"group_memberships"`
	}
	if ok {
		out.Username = ss.username
		out.Factors = append([]string(nil), ss.factors...)
		out.GroupMemberships = []string{}
	}
	s.mu.Unlock()
	if !ok {
		writeText(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// liveSession returns the session for token if it has not expired, and
// forgets expired ones. s.mu must be held.
func (s *Server) liveSession(token string) (*session, bool) {
	ss, ok := s.sessions[token]
	if !ok {
		return nil, false
	}
	if !s.now().Before(ss.expires) {
		delete(s.sessions, token)
		return nil, false
	}
	return ss, true
}

// touch extends a session: it lives at least SessionExtension from now.
// s.mu must be held.
func (s *Server) touch(ss *session) {
	if t := s.now().Add(SessionExtension); t.After(ss.expires) {
		ss.expires = t
	}
}

// authenticate checks an API request's Authorization header and returns
// the Request.Auth kind. A live session is extended. s.mu must be held.
func (s *Server) authenticate(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if h == "" {
		return AuthNone
	}
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return AuthInvalid
	}
	token = strings.TrimSpace(token)
	if key, isKey := strings.CutPrefix(token, "apikey."); isKey {
		if s.apiKeys[key] {
			return AuthAPIKey
		}
		return AuthInvalid
	}
	ss, ok := s.liveSession(token)
	if !ok {
		return AuthInvalid
	}
	s.touch(ss)
	return AuthSession
}

// seconds reads validity, sent as a JSON string by the official client
// and accepted as a number too.
func seconds(v any) (int64, bool) {
	switch v := v.(type) {
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		return n, err == nil && n > 0
	case float64:
		if v <= 0 || v != math.Trunc(v) || v > math.MaxInt32 {
			return 0, false
		}
		return int64(v), true
	}
	return 0, false
}

// validOTP accepts any well-formed one-time password: a YubiKey OTP is 32
// to 48 modhex characters, a 2FA code 6 to 8 digits.
func validOTP(kind, otp string) bool {
	if kind == "yubikey" {
		if len(otp) < 32 || len(otp) > 48 {
			return false
		}
		return strings.Trim(otp, "cbdefghijklnrtuv") == ""
	}
	if len(otp) < 6 || len(otp) > 8 {
		return false
	}
	return strings.Trim(otp, "0123456789") == ""
}

func newToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}
