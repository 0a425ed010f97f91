package testproc

import "syscall"

// setParentDeathSignal has the process get SIGQUIT when the thread that
// started it exits.
func setParentDeathSignal(attr *syscall.SysProcAttr) { attr.Pdeathsig = syscall.SIGQUIT }
