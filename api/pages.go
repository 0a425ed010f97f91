package api

import "net/http"

// pages registers the HTML pages.
func (s *Server) pages(m *http.ServeMux, read func(http.Handler) http.Handler) {}
