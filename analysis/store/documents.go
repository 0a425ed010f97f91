package store

import (
	"fmt"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// maxDocument bounds the size a stored document may decompress to, so
// that a damaged or foreign blob cannot make a read allocate without
// limit. The documents the service writes are far smaller (a report and
// series are tens of kilobytes to a few megabytes).
const maxDocument = 1 << 30

// documentCodec compresses the documents the SQLite store keeps beside an
// analysis (config, request, report, series, Kayenta's judge result) with
// zstd, one frame per document. Both of its halves are safe for
// concurrent use; Close releases them.
type documentCodec struct {
	enc    *zstd.Encoder
	dec    *zstd.Decoder
	closed sync.Once
}

func newDocumentCodec() (*documentCodec, error) {
	// Zero frames: an empty document is stored as an (empty) frame, so it
	// stays apart from a missing one (NULL).
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithZeroFrames(true))
	if err != nil {
		return nil, fmt.Errorf("zstd encoder: %w", err)
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderMaxMemory(maxDocument))
	if err != nil {
		enc.Close()
		return nil, fmt.Errorf("zstd decoder: %w", err)
	}
	return &documentCodec{enc: enc, dec: dec}, nil
}

// compress returns doc as one zstd frame; nil (no document) stays nil.
func (c *documentCodec) compress(doc []byte) []byte {
	if doc == nil {
		return nil
	}
	return c.enc.EncodeAll(doc, make([]byte, 0, len(doc)/4+64))
}

// decompress reverses compress: nil stays nil, an empty document is empty
// (not nil).
func (c *documentCodec) decompress(blob []byte) ([]byte, error) {
	if blob == nil {
		return nil, nil
	}
	doc, err := c.dec.DecodeAll(blob, nil)
	if err != nil {
		return nil, fmt.Errorf("decompress a stored document: %w", err)
	}
	if doc == nil {
		doc = []byte{}
	}
	return doc, nil
}

// Close releases the encoder's and decoder's goroutines and memory; later
// calls do nothing.
func (c *documentCodec) Close() {
	c.closed.Do(func() {
		_ = c.enc.Close()
		c.dec.Close()
	})
}
