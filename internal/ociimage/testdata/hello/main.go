// Command hello is the small program the image tests build in place of
// verdict, whose cross-compilation for two platforms takes minutes.
package main

import (
	"fmt"
	"os"
)

var version = "dev"

func main() {
	fmt.Println("hello", version, os.Getuid())
}
