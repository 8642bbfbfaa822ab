package bytemarktest

import "time"

// SetBuildDelay makes servers take d (on the fake's clock) to build: a
// server made by vm_create that is to start, and a server just reimaged,
// can be read at once but stay powered off until d has passed, so that
// clients have to poll for power_on. Zero, the default, starts them at
// once. A PUT of power_on, a delete or a purge ends the wait.
func (s *Server) SetBuildDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.buildDelay = d
}

// RefuseChangesWhileRunning makes PUTs of cores, memory or
// hardware_profile to a powered-on server fail with a 400 naming the
// attribute, as the real API may ("the rules for what can be changed on a
// running virtual machine are currently complex … be prepared to handle a
// refusal", seed 003). By default the fake accepts them, as the official
// client expects (they apply at the next start).
func (s *Server) RefuseChangesWhileRunning(refuse bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.refuseLive = refuse
}

// SetGroupVLAN puts a group on a private VLAN (0: none). A server moves
// only between groups on the same VLAN, or none; other moves are refused
// with a 400 on group_id, as the API docs say. It reports whether the
// group exists.
func (s *Server) SetGroupVLAN(account, group string, vlan int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.st.accounts {
		if a.name != account {
			continue
		}
		if g := s.st.findGroupByName(a, group); g != nil {
			g.vlan = vlan
			return true
		}
	}
	return false
}
