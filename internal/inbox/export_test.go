package inbox

// IDOf returns the public id of message number num.
func (s *Service) IDOf(num int64) string { return s.ids.format(num) }

// NumOf returns the number of the message of public id id, 0 if id is none.
func (s *Service) NumOf(id string) int64 {
	num, _ := s.ids.parse(id)
	return num
}
