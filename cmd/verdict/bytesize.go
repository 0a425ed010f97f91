package main

import (
	"fmt"
	"strconv"
	"strings"
)

// byteSize is a flag's number of bytes: a whole number, optionally with a
// binary unit (KiB, MiB, GiB; B for bytes), such as 64MiB.
type byteSize int64

var byteUnits = []struct {
	suffix string
	size   int64
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}

func (b *byteSize) Set(s string) error {
	text := strings.TrimSpace(s)
	unit := int64(1)
	for _, u := range byteUnits {
		if len(text) > len(u.suffix) && strings.EqualFold(text[len(text)-len(u.suffix):], u.suffix) {
			text, unit = strings.TrimSpace(text[:len(text)-len(u.suffix)]), u.size
			break
		}
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/unit {
		return fmt.Errorf("%q is not a size such as 64MiB, 512KiB or 1048576 (bytes)", s)
	}
	*b = byteSize(n * unit)
	return nil
}

// String writes the size with the largest unit that divides it.
func (b byteSize) String() string {
	for _, u := range byteUnits {
		if b != 0 && int64(b)%u.size == 0 {
			return strconv.FormatInt(int64(b)/u.size, 10) + u.suffix
		}
	}
	return "0B"
}

func (*byteSize) Type() string { return "bytes" }
