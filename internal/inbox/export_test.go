package inbox

// OpenStreams returns how many streams the service holds open.
func (s *Service) OpenStreams() int {
	s.streamsMu.Lock()
	defer s.streamsMu.Unlock()
	return len(s.streams)
}
