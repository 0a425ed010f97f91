package api

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
)

// ConfigsVersion summarises the stored configs' names, versions and update
// times in one string that changes whenever a config is stored or deleted,
// by any replica; schedule.Reloader.Follow polls it. It reads no config
// text.
func (s *Server) ConfigsVersion(ctx context.Context) (string, error) {
	list, err := s.store.ListConfigVersions(ctx)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	var n [8]byte
	for _, c := range list {
		binary.BigEndian.PutUint64(n[:], uint64(len(c.Name)))
		h.Write(n[:])
		h.Write([]byte(c.Name))
		binary.BigEndian.PutUint64(n[:], uint64(c.Version))
		h.Write(n[:])
		binary.BigEndian.PutUint64(n[:], uint64(c.UpdatedAt.UnixNano()))
		h.Write(n[:])
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
