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
