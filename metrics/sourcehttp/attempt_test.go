package sourcehttp

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/metrics/query"
)

// TestAttempterDo: each way one attempt can end gives its kind and
// message, and a 200 answer is decoded.
func TestAttempterDo(t *testing.T) {
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"got":"`+r.Method+" "+r.Header.Get("Accept")+" "+r.Header.Get("X-Key")+`"}`)
	})
	mux.HandleFunc("/busy", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "overloaded"+strings.Repeat(" ", MaxErrorBody)+"past the bound")
	})
	mux.HandleFunc("/garbage", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "<html>")
	})
	mux.HandleFunc("/huge", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"got":"`+strings.Repeat("x", 3*MaxErrorBody)+`"}`)
	})
	mux.HandleFunc("/slow", func(http.ResponseWriter, *http.Request) { <-release })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer close(release) // before Close, which waits for the handlers
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	unreachable := "http://" + closed.Addr().String()
	closed.Close()

	client, err := New(Config{MaxResponseBytes: 2 * MaxErrorBody})
	if err != nil {
		t.Fatal(err)
	}
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	var classified []byte
	for _, tc := range []struct {
		name, url      string
		ctx            context.Context
		timeout        time.Duration
		wantKind       query.Kind
		wantErr, want  string
		wantRetryAfter time.Duration
	}{
		{name: "ok", url: srv.URL + "/ok", want: "POST application/json k"},
		{name: "error answer", url: srv.URL + "/busy", wantKind: query.KindUnavailable, wantErr: "HTTP 503: overloaded", wantRetryAfter: 7 * time.Second},
		{name: "not the answer", url: srv.URL + "/garbage", wantKind: query.KindBadResponse, wantErr: "testsrc answered something other than test JSON: invalid character"},
		{name: "too large", url: srv.URL + "/huge", wantKind: query.KindTooLarge, wantErr: "larger than the source's limit of 128KiB"},
		{name: "unreachable", url: unreachable, wantKind: query.KindUnavailable, wantErr: "testsrc unreachable: "},
		{name: "timeout", url: srv.URL + "/slow", timeout: 50 * time.Millisecond, wantKind: query.KindTimeout, wantErr: "timeout after 50ms"},
		{name: "canceled", url: srv.URL + "/ok", ctx: canceled, wantKind: query.KindCanceled, wantErr: "gave up: context canceled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, timeout := tc.ctx, tc.timeout
			if ctx == nil {
				ctx = t.Context()
			}
			if timeout == 0 {
				timeout = time.Minute
			}
			a := Attempter{Client: client, Timeout: timeout, Source: "testsrc"}
			var answer struct{ Got string }
			_, qe := a.Do(ctx, Exchange{
				Method: http.MethodPost,
				URL:    tc.url,
				Header: http.Header{"x-key": {"k"}},
				Body:   []byte("{}"),
				Classify: func(status int, _ http.Header, body []byte) (query.Kind, string) {
					classified = body
					return query.KindUnavailable, strings.TrimSpace(string(body))
				},
				Decode:   func(body io.Reader) error { return json.NewDecoder(body).Decode(&answer) },
				Expected: "test JSON",
			})
			if tc.wantErr == "" {
				if qe != nil || answer.Got != tc.want {
					t.Fatalf("got %q, %v; want %q", answer.Got, qe, tc.want)
				}
				return
			}
			if qe == nil || qe.Kind != tc.wantKind || !strings.Contains(qe.Err.Error(), tc.wantErr) || qe.RetryAfter != tc.wantRetryAfter {
				t.Fatalf("got %+v; want kind %v, error containing %q, Retry-After %s", qe, tc.wantKind, tc.wantErr, tc.wantRetryAfter)
			}
		})
	}
	if len(classified) != MaxErrorBody {
		t.Errorf("Classify read %d bytes of the error answer, want the bound %d", len(classified), MaxErrorBody)
	}
}

// TestSecret: a key comes from its file (trimmed, bounded, no path in
// errors) or from its value.
func TestSecret(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name          string
		s             Secret
		want, wantErr string
	}{
		{name: "value", s: Secret{Value: "v"}, want: "v"},
		{name: "file wins", s: Secret{File: write("k", " key\n"), Value: "v"}, want: "key"},
		{name: "missing", s: Secret{File: filepath.Join(dir, "none")}, wantErr: "no such file or directory"},
		{name: "too large", s: Secret{File: write("big", strings.Repeat("k", maxKeyFile+1))}, wantErr: "larger than 64KiB; it should hold one key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.s.Get()
			switch {
			case tc.wantErr == "" && (err != nil || got != tc.want):
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			case tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr):
				t.Fatalf("got %v; want the error %q (without the path)", err, tc.wantErr)
			}
		})
	}
}

// TestRedact: every key of 8 bytes or more is taken out of the message,
// and nothing left to unwrap holds it; shorter keys are left alone.
func TestRedact(t *testing.T) {
	inner := errors.New("key abcdefgh1234 refused, short key xy")
	err := Redact(inner, "abcdefgh1234", "xy")
	if got, want := err.Error(), "key [redacted] refused, short key xy"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if errors.Is(err, inner) {
		t.Error("the redacted error still wraps the one holding the key")
	}
	if Redact(inner, "absent-key") != inner {
		t.Error("an error without a key should come back as it is")
	}
}
