// Package pgtest starts a real PostgreSQL for integration tests.
//
// Start runs Debian's binaries (the newest /usr/lib/postgresql/VERSION/bin,
// found at run time; else initdb and postgres on PATH): initdb into a
// t.TempDir() (trust authentication for a superuser named postgres, UTF8,
// C locale, no fsync), then `postgres` listening on a free 127.0.0.1 port
// and a Unix socket in the same temporary tree, with fsync off. It waits
// until the server accepts connections and stops it by its PID (SIGINT, a
// fast shutdown; SIGKILL if that takes more than 30 s) when the test ends.
// It never uses a PostgreSQL that is already running (such as the cluster
// Debian's package starts on 5432), and the server it starts shuts down if
// the test binary dies without cleaning up.
//
// PostgreSQL refuses to run as root. When the test runs as root (as CI
// does), initdb and postgres run as the "postgres" system user that
// Debian's package creates, and the temporary directory is handed to it.
//
// When the binaries are missing the test is skipped, except when the
// environment variable CI is "true": then it fails, so that CI never passes
// by skipping.
//
// Each Server hands out fresh databases (NewDatabase), so the tests of a
// package can share one server and still not see each other's rows. They
// use ICU's en-US collation, not the cluster's C locale, so a query that
// relies on bytewise text order fails in tests as it would in production.
package pgtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/verdict-aca/verdict/internal/testproc"
)

// Server is a running PostgreSQL.
type Server struct {
	// Host and Port are where it listens (127.0.0.1 and a free port).
	Host string
	Port int

	proc *testproc.Process

	mu   sync.Mutex
	next int // databases created so far
}

// Binaries returns the paths of initdb and postgres, or skips tb (fails it
// when CI=true) when they are missing.
func Binaries(tb testing.TB) (initdb, postgres string) {
	tb.Helper()
	return binaries(tb, "/usr/lib/postgresql")
}

// binaries is Binaries with Debian's directory of versions at root.
func binaries(tb testing.TB, root string) (initdb, postgres string) {
	tb.Helper()
	if dir := newestBinDir(root); dir != "" {
		return filepath.Join(dir, "initdb"), filepath.Join(dir, "postgres")
	}
	initdb, err1 := exec.LookPath("initdb")
	postgres, err2 := exec.LookPath("postgres")
	if err1 != nil || err2 != nil {
		msg := "integration test needs PostgreSQL's initdb and postgres (Debian package postgresql: /usr/lib/postgresql/*/bin)"
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg)
		} else {
			tb.Skip(msg)
		}
		return "", ""
	}
	return initdb, postgres
}

// newestBinDir is root/VERSION/bin of the highest VERSION (compared as
// numbers: 9.6 < 15 < 16) that holds both initdb and postgres, or "".
func newestBinDir(root string) string {
	matches, _ := filepath.Glob(filepath.Join(root, "*", "bin", "initdb"))
	type cand struct {
		dir string
		ver []int
	}
	var cands []cand
	for _, m := range matches {
		dir := filepath.Dir(m)
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err != nil {
			continue
		}
		var ver []int
		for _, p := range strings.Split(filepath.Base(filepath.Dir(dir)), ".") {
			n, err := strconv.Atoi(p)
			if err != nil {
				ver = nil
				break
			}
			ver = append(ver, n)
		}
		if ver != nil {
			cands = append(cands, cand{dir, ver})
		}
	}
	if len(cands) == 0 {
		return ""
	}
	sort.Slice(cands, func(i, j int) bool {
		a, b := cands[i].ver, cands[j].ver
		for k := 0; k < len(a) && k < len(b); k++ {
			if a[k] != b[k] {
				return a[k] > b[k]
			}
		}
		return len(a) > len(b)
	})
	return cands[0].dir
}

// runAs is the credential initdb and postgres run with: nil normally, the
// postgres system user when the test runs as root.
func runAs() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, PostgreSQL must run as the postgres user: %w", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("uid of postgres: %w", err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("gid of postgres: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// Start initialises a cluster in a temporary directory and starts
// PostgreSQL on it. The server is stopped when tb ends; Stop stops it
// earlier.
func Start(tb testing.TB) *Server {
	tb.Helper()
	initdb, postgres := Binaries(tb)
	cred, err := runAs()
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	dir := tb.TempDir()
	// A Unix socket path must fit in 107 bytes; a long test name can make
	// the temporary directory's too long, then the socket goes elsewhere.
	sock := filepath.Join(dir, "sock")
	if len(sock) > 80 {
		if sock, err = os.MkdirTemp("", "pgsock"); err != nil {
			tb.Fatalf("pgtest: %v", err)
		}
		tb.Cleanup(func() { os.RemoveAll(sock) })
	} else if err := os.Mkdir(sock, 0o700); err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	data := filepath.Join(dir, "data")
	if cred != nil {
		// The postgres user must reach dir (its parent is the test's own
		// 0700 temporary directory) and own what it writes.
		if err := os.Chmod(filepath.Dir(dir), 0o711); err != nil {
			tb.Fatalf("pgtest: %v", err)
		}
		for _, d := range []string{dir, sock} {
			if err := os.Chown(d, int(cred.Uid), int(cred.Gid)); err != nil {
				tb.Fatalf("pgtest: hand %s to the postgres user: %v", d, err)
			}
		}
	}

	cmd := exec.Command(initdb, "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("pgtest: initdb: %v\n%s", err, out)
	}

	// A free port can be taken by someone else between probing and
	// binding; try a few.
	var lastErr error
	for range 3 {
		s, err := start(postgres, data, sock, cred)
		if err == nil {
			tb.Cleanup(s.Stop)
			return s
		}
		lastErr = err
	}
	tb.Fatalf("pgtest: %v", lastErr)
	return nil
}

func start(postgres, data, sock string, cred *syscall.Credential) (*Server, error) {
	port, err := testproc.FreePort()
	if err != nil {
		return nil, err
	}
	s := &Server{Host: "127.0.0.1", Port: port}
	cmd := exec.Command(postgres,
		"-D", data,
		"-k", sock,
		"-h", s.Host,
		"-p", strconv.Itoa(port),
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "shared_buffers=32MB",
		"-c", "max_connections=200",
	)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if s.proc, err = testproc.Start("postgres", cmd); err != nil {
		return nil, err
	}
	err = s.proc.WaitReady(60*time.Second, func(ctx context.Context) error {
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		conn, err := pgx.Connect(actx, s.DSN("postgres"))
		if err != nil {
			return err
		}
		defer conn.Close(actx)
		return conn.Ping(actx)
	})
	if err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// DSN is the postgres:// URL of database db as the superuser postgres.
func (s *Server) DSN(db string) string {
	return fmt.Sprintf("postgres://postgres@%s:%d/%s?sslmode=disable", s.Host, s.Port, db)
}

// NewDatabase creates an empty database and returns its DSN.
func (s *Server) NewDatabase(tb testing.TB) string {
	tb.Helper()
	s.mu.Lock()
	s.next++
	name := fmt.Sprintf("verdict_%d", s.next)
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.DSN("postgres"))
	if err != nil {
		tb.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	// A language collation, as production databases often have, so that a
	// query whose order depends on bytewise comparison shows in tests.
	q := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize() + " TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C'"
	if _, err := conn.Exec(ctx, q); err != nil {
		tb.Fatalf("pgtest: create database %s: %v", name, err)
	}
	return s.DSN(name)
}

// Log is what the server wrote to stdout and stderr so far.
func (s *Server) Log() string { return s.proc.Log() }

// Stop asks the server to shut down (SIGINT: fast shutdown, rolling back
// open transactions), waits for it to exit, and kills it after 30 s. It may
// be called more than once.
func (s *Server) Stop() { s.proc.Stop(syscall.SIGINT, 30*time.Second) }
