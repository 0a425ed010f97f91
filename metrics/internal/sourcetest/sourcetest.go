// Package sourcetest holds what the unit tests of the HTTP metric sources
// (metrics/graphite, metrics/influxdb) share: a fake server that counts
// the requests it answers, and the check of a source against a table of
// error answers.
package sourcetest

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/query"
)

// Server starts a server on 127.0.0.1 answering with h, closed when t
// ends, and returns its URL and the count of requests it received.
func Server(t *testing.T, h http.HandlerFunc) (string, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &calls
}

// ErrorAnswer is one answer a source gets to every attempt of a query,
// and what the query's error must then be.
type ErrorAnswer struct {
	Name string
	// Code, Body and RetryAfter (the header, when not empty) are the
	// answer, sent after Sleep.
	Code       int
	Body       string
	RetryAfter string
	Sleep      time.Duration
	// WantKind is the error's kind, WantCalls the attempts made (1 when
	// the error is not retried) and WantMsg text the error holds.
	WantKind  query.Kind
	WantCalls int32
	WantMsg   string
}

// ErrorCheck runs a query against each ErrorAnswer.
type ErrorCheck struct {
	// New builds the source under test reading from url.
	New func(t *testing.T, url string) metrics.Source
	// Query, Scope and Window are what is fetched.
	Query  metrics.Query
	Scope  metrics.Scope
	Window metrics.Window
	// Names is text every error must hold (the rendered query), and
	// Never text none may hold (the server's paths).
	Names, Never string
}

// Run checks each answer in a subtest: the error is a *query.Error of the
// answer's kind, after its number of attempts, holding its message and
// c.Names.
func (c ErrorCheck) Run(t *testing.T, answers []ErrorAnswer) {
	t.Helper()
	for _, a := range answers {
		t.Run(a.Name, func(t *testing.T) {
			url, calls := Server(t, func(w http.ResponseWriter, r *http.Request) {
				if a.Sleep > 0 {
					select {
					case <-time.After(a.Sleep):
					case <-r.Context().Done():
						return
					}
				}
				if a.RetryAfter != "" {
					w.Header().Set("Retry-After", a.RetryAfter)
				}
				w.WriteHeader(a.Code)
				_, _ = w.Write([]byte(a.Body))
			})
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_, err := c.New(t, url).Fetch(ctx, c.Query, c.Scope, c.Window)
			var qe *query.Error
			if !errors.As(err, &qe) {
				t.Fatalf("err = %v, want *query.Error", err)
			}
			if qe.Kind != a.WantKind {
				t.Errorf("kind %v, want %v (%v)", qe.Kind, a.WantKind, err)
			}
			if got := calls.Load(); got != a.WantCalls {
				t.Errorf("%d requests, want %d", got, a.WantCalls)
			}
			if !strings.Contains(err.Error(), a.WantMsg) || !strings.Contains(err.Error(), c.Names) {
				t.Errorf("%q does not name %q and the query", err, a.WantMsg)
			}
			if c.Never != "" && strings.Contains(err.Error(), c.Never) {
				t.Errorf("%q holds %q", err, c.Never)
			}
		})
	}
}
