package testproc

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestReadyThenStop(t *testing.T) {
	p, err := Start("greeter", exec.Command("sh", "-c", "echo hello; exec sleep 30"))
	if err != nil {
		t.Fatal(err)
	}
	err = p.WaitReady(10*time.Second, func(context.Context) error {
		if !strings.Contains(p.Log(), "hello") {
			return errors.New("no greeting yet")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if p.Exited() {
		t.Fatal("the process exited early")
	}
	p.Stop(syscall.SIGTERM, 10*time.Second)
	if !p.Exited() {
		t.Fatal("Stop returned before the process exited")
	}
	p.Stop(syscall.SIGTERM, time.Second) // a second Stop is harmless
}

func TestWaitReadyNoticesExit(t *testing.T) {
	p, err := Start("crasher", exec.Command("sh", "-c", "echo boom >&2; exit 3"))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = p.WaitReady(30*time.Second, func(context.Context) error { return errors.New("not listening") })
	if err == nil || !strings.Contains(err.Error(), "crasher exited before it was ready: not listening") || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("error %v: want the exit, the last readiness error and the output", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Fatal("WaitReady waited for its limit although the process had exited")
	}
}

func TestStopKillsAfterGrace(t *testing.T) {
	p, err := Start("stubborn", exec.Command("sh", "-c", `trap "" TERM; echo ready; while :; do sleep 1; done`))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.WaitReady(10*time.Second, func(context.Context) error {
		if !strings.Contains(p.Log(), "ready") {
			return errors.New("trap not set yet")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	p.Stop(syscall.SIGTERM, 300*time.Millisecond)
	if !p.Exited() {
		t.Fatal("a process ignoring SIGTERM survived Stop")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("Stop took %s", d)
	}
}

func TestFreePort(t *testing.T) {
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatalf("port %d is not free: %v", port, err)
	}
	l.Close()
}

func TestPoll(t *testing.T) {
	calls := 0
	err := Poll(context.Background(), time.Minute, time.Millisecond, func(context.Context) error {
		if calls++; calls < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("Poll: %v after %d calls, want nil after 3", err, calls)
	}
	err = Poll(context.Background(), 50*time.Millisecond, time.Millisecond, func(context.Context) error {
		return errors.New("never")
	})
	if err == nil || !strings.Contains(err.Error(), "never") {
		t.Fatalf("Poll of a check that never succeeds: %v, want its last error", err)
	}
}

func TestOnFreePort(t *testing.T) {
	for _, tc := range []struct {
		failures, wantCalls int
		wantErr             bool
	}{
		{failures: 0, wantCalls: 1},
		{failures: 2, wantCalls: 3},
		{failures: 5, wantCalls: 3, wantErr: true},
	} {
		calls := 0
		err := OnFreePort(func(port int) error {
			if port <= 0 {
				t.Errorf("port %d", port)
			}
			if calls++; calls <= tc.failures {
				return errors.New("taken")
			}
			return nil
		})
		if calls != tc.wantCalls || (err != nil) != tc.wantErr {
			t.Errorf("%d failures: %d calls, error %v; want %d calls, error %v", tc.failures, calls, err, tc.wantCalls, tc.wantErr)
		}
	}
}
