package api

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/verdict-aca/verdict/internal/pgtest"
	"github.com/verdict-aca/verdict/internal/promtest"
)

// This file holds the servers the whole test binary shares: one PostgreSQL
// (each test takes a fresh database on it) and one Prometheus over the e2e
// dataset (read only: it has no scrape targets, so no test can change what
// another reads). The first test that asks starts one; TestMain stops them
// after the last test. Starting them once instead of per test is most of
// what keeps the package's tests fast on two cores.

// sharedPostgres is the PostgreSQL of this test binary.
var sharedPostgres = shared[*pgtest.Server]{name: "PostgreSQL", start: pgtest.Start}

// sharedPrometheus serves openMetrics(e2eStart, 241), the dataset of every
// test that reads metrics.
var sharedPrometheus = shared[*promtest.Server]{name: "Prometheus", start: func(tb testing.TB) *promtest.Server {
	return promtest.Start(tb, openMetrics(e2eStart, 241))
}}

// e2ePrometheus is the URL of sharedPrometheus.
func e2ePrometheus(t testing.TB) string {
	t.Helper()
	return sharedPrometheus.get(t).URL
}

func TestMain(m *testing.M) {
	code := m.Run()
	sharedPostgres.stop()
	sharedPrometheus.stop()
	os.Exit(code)
}

// shared is a test server one test binary shares: start runs, with a
// mainTB, on the first get; stop undoes it.
type shared[T any] struct {
	name  string
	start func(testing.TB) T

	once    sync.Once
	tb      *mainTB
	val     T
	started bool
}

// get returns the server, starting it on the first call. It skips t when
// the start skipped (its binaries are missing) and fails t when the start
// failed; every later caller sees the same outcome.
func (s *shared[T]) get(t testing.TB) T {
	t.Helper()
	s.once.Do(s.run)
	if !s.started {
		if s.tb.skipped {
			t.Skip(s.tb.message())
		}
		t.Fatalf("the shared %s did not start: %s", s.name, s.tb.message())
	}
	return s.val
}

func (s *shared[T]) run() {
	s.tb = &mainTB{name: "shared " + s.name}
	base, err := os.MkdirTemp("", "verdict-api-test")
	if err != nil {
		s.tb.record(false, fmt.Sprintf("temporary directory: %v", err))
		return
	}
	s.tb.base = base
	s.tb.Cleanup(func() { os.RemoveAll(base) })
	// A failing or skipping start ends its goroutine (Fatal and Skip call
	// runtime.Goexit, as testing's do): it runs on one of its own.
	done := make(chan struct{})
	go func() {
		defer close(done)
		v := s.start(s.tb)
		s.val, s.started = v, !s.tb.failed()
	}()
	<-done
}

// stop stops the server, if it started, and removes its files.
func (s *shared[T]) stop() {
	if s.tb != nil {
		s.tb.cleanup()
	}
}

// mainTB is the testing.TB for a server that outlives any one test: it
// keeps the cleanups for shared.stop, makes temporary directories under
// base (never directly in the system's: pgtest opens the parent of its
// directory to the postgres user when run as root), and records Skip and
// Fatal, ending the calling goroutine as testing does. A method not
// defined here reaches the nil embedded TB and panics, naming the method a
// helper started to call.
type mainTB struct {
	testing.TB
	name string
	base string

	mu       sync.Mutex
	cleanups []func()
	failures []string
	skipped  bool
}

func (*mainTB) Helper()        {}
func (m *mainTB) Name() string { return m.name }

func (m *mainTB) Cleanup(f func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cleanups = append(m.cleanups, f)
}

// cleanup runs the cleanups, last registered first.
func (m *mainTB) cleanup() {
	m.mu.Lock()
	fs := m.cleanups
	m.cleanups = nil
	m.mu.Unlock()
	for _, f := range slices.Backward(fs) {
		f()
	}
}

func (m *mainTB) TempDir() string {
	dir, err := os.MkdirTemp(m.base, "")
	if err != nil {
		m.Fatalf("temporary directory: %v", err)
	}
	return dir
}

func (m *mainTB) record(skip bool, msg string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failures = append(m.failures, msg)
	m.skipped = m.skipped || skip
}

func (m *mainTB) failed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.failures) > 0
}

// message is what the failed or skipped start said.
func (m *mainTB) message() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return strings.Join(m.failures, "; ")
}

func (*mainTB) Log(...any)                     {}
func (*mainTB) Logf(string, ...any)            {}
func (m *mainTB) Error(args ...any)            { m.record(false, fmt.Sprint(args...)) }
func (m *mainTB) Errorf(f string, args ...any) { m.record(false, fmt.Sprintf(f, args...)) }
func (m *mainTB) Fatal(args ...any)            { m.record(false, fmt.Sprint(args...)); runtime.Goexit() }
func (m *mainTB) Fatalf(f string, args ...any) {
	m.record(false, fmt.Sprintf(f, args...))
	runtime.Goexit()
}
func (m *mainTB) Skip(args ...any) { m.record(true, fmt.Sprint(args...)); runtime.Goexit() }
func (m *mainTB) Skipf(f string, args ...any) {
	m.record(true, fmt.Sprintf(f, args...))
	runtime.Goexit()
}

// TestSharedOutcomes checks what a shared server's start leaves for get: a
// start that skips (binaries missing) or fails ends its goroutine and is
// remembered as such, nothing after the Skip or Fatal runs, and stop runs
// the cleanups last first.
func TestSharedOutcomes(t *testing.T) {
	for _, tc := range []struct {
		name        string
		start       func(tb testing.TB, log *[]string) int
		wantStarted bool
		wantSkipped bool
		wantMessage string
		wantLog     string // the start's steps, then the cleanups in the order stop ran them
	}{
		{"started", func(tb testing.TB, log *[]string) int {
			dir := tb.TempDir()
			if _, err := os.Stat(dir); err != nil {
				tb.Fatalf("TempDir %s: %v", dir, err)
			}
			tb.Cleanup(func() { *log = append(*log, "first") })
			tb.Cleanup(func() { *log = append(*log, "second") })
			return 7
		}, true, false, "", "second,first"},
		{"skipped", func(tb testing.TB, log *[]string) int {
			tb.Cleanup(func() { *log = append(*log, "cleanup") })
			tb.Skip("no binaries")
			*log = append(*log, "after skip")
			return 7
		}, false, true, "no binaries", "cleanup"},
		{"failed", func(tb testing.TB, log *[]string) int {
			tb.Fatalf("initdb: exit %d", 1)
			*log = append(*log, "after fatal")
			return 7
		}, false, false, "initdb: exit 1", ""},
		{"an error is a failure", func(tb testing.TB, log *[]string) int {
			tb.Errorf("port %d taken", 5432)
			*log = append(*log, "went on")
			return 7
		}, false, false, "port 5432 taken", "went on"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log []string
			s := shared[int]{name: tc.name, start: func(tb testing.TB) int { return tc.start(tb, &log) }}
			s.run()
			base := s.tb.base
			if s.started != tc.wantStarted || s.tb.skipped != tc.wantSkipped || s.tb.message() != tc.wantMessage {
				t.Errorf("started %v skipped %v message %q, want %v %v %q", s.started, s.tb.skipped, s.tb.message(), tc.wantStarted, tc.wantSkipped, tc.wantMessage)
			}
			if tc.wantStarted && s.val != 7 {
				t.Errorf("value %d, want 7", s.val)
			}
			s.stop()
			s.stop() // a second stop runs nothing again
			if got := strings.Join(log, ","); got != tc.wantLog {
				t.Errorf("log %q, want %q", got, tc.wantLog)
			}
			if _, err := os.Stat(base); !os.IsNotExist(err) {
				t.Errorf("the temporary directory %s is left: %v", base, err)
			}
		})
	}
}
