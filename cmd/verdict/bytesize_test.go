package main

import (
	"net"
	"os"
	"testing"
)

func TestByteSize(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    byteSize
		text    string
		wantErr bool
	}{
		{"64MiB", 64 << 20, "64MiB", false},
		{"64 mib", 64 << 20, "64MiB", false},
		{"512KiB", 512 << 10, "512KiB", false},
		{"1GiB", 1 << 30, "1GiB", false},
		{"1536KiB", 1536 << 10, "1536KiB", false},
		{"1048576", 1 << 20, "1MiB", false},
		{"1000B", 1000, "1000B", false},
		{"0", 0, "0B", false},
		{"", 0, "", true},
		{"MiB", 0, "", true},
		{"-1MiB", 0, "", true},
		{"1.5MiB", 0, "", true},
		{"64MB", 0, "", true},
		{"9999999999GiB", 0, "", true},
	} {
		var b byteSize
		err := b.Set(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("Set(%q): %v, want error %v", tc.in, err, tc.wantErr)
			continue
		}
		if err == nil && (b != tc.want || b.String() != tc.text) {
			t.Errorf("Set(%q) = %d (%s), want %d (%s)", tc.in, b, b, tc.want, tc.text)
		}
	}
}

func TestListenerURL(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Skip("no host name")
	}
	for _, tc := range []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}, "http://127.0.0.1:8080"},
		{&net.TCPAddr{IP: net.IPv6loopback, Port: 8080}, "http://[::1]:8080"},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 9000}, "http://" + net.JoinHostPort(host, "9000")},
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 9000}, "http://" + net.JoinHostPort(host, "9000")},
	} {
		if got := listenerURL(tc.addr); got != tc.want {
			t.Errorf("listenerURL(%s) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}
