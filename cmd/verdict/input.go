package main

import (
	"bytes"
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/metrics"
	"github.com/verdict-aca/verdict/metrics/file"
)

// stdinPath is the file name that stands for standard input, and stdinName
// how messages and reports name it.
const (
	stdinPath = "-"
	stdinName = "standard input"
)

// displayName is how messages and records name an input path.
func displayName(path string) string {
	if path == stdinPath {
		return stdinName
	}
	return path
}

// oneStdin refuses more than one of the flags reading standard input (-).
func oneStdin(cmd *cobra.Command, flags ...string) error {
	var reading []string
	for _, name := range flags {
		if f := cmd.Flags().Lookup(name); f != nil && f.Value.String() == stdinPath {
			reading = append(reading, "--"+name)
		}
	}
	if len(reading) > 1 {
		all := make([]string, len(flags))
		for i, name := range flags {
			all[i] = "--" + name
		}
		return usageError{fmt.Errorf("only one of %s can read standard input (-); %s do", andList(all), andList(reading))}
	}
	return nil
}

// readStdin reads all of standard input.
func readStdin(cmd *cobra.Command, what string) ([]byte, error) {
	data, err := io.ReadAll(cmd.InOrStdin())
	if err != nil {
		return nil, fmt.Errorf("reading the %s from standard input: %w", what, err)
	}
	return data, nil
}

// loadConfig reads and validates the config at path, or from standard
// input for -, and returns it with its text (for the record).
func loadConfig(cmd *cobra.Command, path string) (*analysis.Config, []byte, error) {
	if path != stdinPath {
		return analysis.LoadConfigText(cmd.Context(), path)
	}
	data, err := readStdin(cmd, "config")
	if err != nil {
		return nil, nil, err
	}
	cfg, err := analysis.ParseConfig(stdinName, data)
	if err != nil {
		return nil, nil, err
	}
	return cfg, data, nil
}

// loadSeries reads a series file, or standard input for -: JSON when its
// first character (after spaces) is {, CSV otherwise.
func loadSeries(cmd *cobra.Command, path string) ([]metrics.Series, error) {
	if path != stdinPath {
		return file.Load(cmd.Context(), path)
	}
	data, err := readStdin(cmd, "series")
	if err != nil {
		return nil, err
	}
	ext := ".csv"
	if t := bytes.TrimLeft(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), " \t\r\n"); len(t) > 0 && t[0] == '{' {
		ext = ".json"
	}
	return file.ParseAs(stdinName, ext, bytes.NewReader(data))
}

// seriesOrigin names a series input in reports: the file's base name.
func seriesOrigin(path string) string {
	if path == stdinPath {
		return stdinName
	}
	return filepath.Base(path)
}
