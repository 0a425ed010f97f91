// Command archdump writes archcheck's results (see package archcheck) to
// standard output. The archcheck test builds it for arm64 and compares its
// output under qemu-user with the native one.
package main

import (
	"fmt"
	"os"

	"github.com/verdict-aca/verdict/internal/archcheck"
)

func main() {
	if err := archcheck.Write(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "archdump:", err)
		os.Exit(70)
	}
}
