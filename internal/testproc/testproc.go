// Package testproc runs a real server program for a test: started with its
// output kept, polled until it is ready, stopped by its PID, and never
// outliving the test binary. The helpers that start Prometheus (promtest)
// and PostgreSQL (pgtest) are built on it.
//
// Decisions:
//   - The process gets SIGQUIT when the thread that started it exits
//     (Linux's parent-death signal), so a test binary killed by -timeout or
//     by hand takes its servers with it. Other systems have no such signal:
//     there a killed parent leaves its servers running.
//   - Output goes to a buffer guarded by a mutex: the process writes it
//     while a test may read it.
//   - Waiting for readiness stops early when the process exits, with its
//     output in the error.
package testproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// FreePort returns a TCP port that is free on 127.0.0.1 now. Another
// process may take it before the caller binds it: callers retry.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// OnFreePort calls start with a free port of 127.0.0.1 until it succeeds,
// three times at most: a port found free can be taken by another program
// before the server binds it. It returns start's last error.
func OnFreePort(start func(port int) error) error {
	var err error
	for range 3 {
		var port int
		if port, err = FreePort(); err != nil {
			return err
		}
		if err = start(port); err == nil {
			return nil
		}
	}
	return err
}

// Process is a started server program.
type Process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	log  syncBuffer
}

// Start starts cmd (its SysProcAttr, if any, is kept), sending its stdout
// and stderr to the process's log. name is used in errors.
func Start(name string, cmd *exec.Cmd) (*Process, error) {
	p := &Process{name: name, cmd: cmd, done: make(chan struct{})}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	setParentDeathSignal(cmd.SysProcAttr)
	cmd.Stdout, cmd.Stderr = &p.log, &p.log
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// StartReady starts cmd in its own process group, as Start does, and
// waits up to limit for ready (see WaitReady); when it is not ready the
// process is killed and the error carries its output.
func StartReady(name string, cmd *exec.Cmd, limit time.Duration, ready func(context.Context) error) (*Process, error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	p, err := Start(name, cmd)
	if err != nil {
		return nil, err
	}
	if err := p.WaitReady(limit, ready); err != nil {
		p.Stop(nil, 0)
		return nil, err
	}
	return p, nil
}

// WaitReady calls ready every 100 ms until it returns nil, the process
// exits, or limit passes; the error then carries the process's output.
func (p *Process) WaitReady(limit time.Duration, ready func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	err := poll(ctx, 100*time.Millisecond, p.done, ready)
	switch {
	case err == nil:
		return nil
	case p.Exited():
		return fmt.Errorf("%s exited before it was ready: %w\n%s log:\n%s", p.name, err, p.name, p.Log())
	default:
		return fmt.Errorf("%s not ready after %s: %w\n%s log:\n%s", p.name, limit, err, p.name, p.Log())
	}
}

// Poll calls check every interval until it returns nil, ctx ends or limit
// passes (a hang guard, never a measure of speed); the error is then
// check's last one, or ctx's when check never ran to an answer.
func Poll(ctx context.Context, limit, interval time.Duration, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	if err := poll(ctx, interval, nil, check); err != nil {
		return fmt.Errorf("after %s: %w", limit, err)
	}
	return nil
}

// poll calls check every interval until it returns nil, ctx ends or stop
// closes, and returns check's last error.
func poll(ctx context.Context, interval time.Duration, stop <-chan struct{}, check func(context.Context) error) error {
	for {
		err := check(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-stop:
			return err
		case <-ctx.Done():
			return err
		case <-time.After(interval):
		}
	}
}

// Log is what the process wrote to stdout and stderr so far.
func (p *Process) Log() string { return p.log.String() }

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop sends sig to the process (nil: kills it at once), waits up to grace
// for it to exit, then kills it, and returns once it has exited. It may be
// called more than once.
func (p *Process) Stop(sig os.Signal, grace time.Duration) {
	if p.Exited() {
		return
	}
	if sig == nil {
		_ = p.cmd.Process.Kill()
		<-p.done
		return
	}
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		_ = p.cmd.Process.Kill()
	}
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// syncBuffer is a bytes.Buffer the process and the test can use at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// HTTPReady is a readiness check for WaitReady: a GET of url that
// answers 200 within timeout. It keeps no connection open (an idle one in
// http.DefaultTransport's pool would be closed whenever any test closes an
// httptest.Server, changing a server's connection count mid-test).
func HTTPReady(url string, timeout time.Duration) func(context.Context) error {
	client := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	}
}

// PID is the process's ID.
func (p *Process) PID() int { return p.cmd.Process.Pid }
