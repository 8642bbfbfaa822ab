package bot

import "net/http"

// registerHooks registers the monitoring webhook routes (POST
// /hooks/alertmanager, POST /hooks/grafana). This stub registers none;
// hooks.go replaces it.
func (s *Server) registerHooks(mux *http.ServeMux) {}
