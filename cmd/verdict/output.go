package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/report"
)

// addReportFlags declares --format and -o/--output, with --format's values
// completed by the shell.
func addReportFlags(cmd *cobra.Command, format, output *string) {
	fl := cmd.Flags()
	fl.StringVar(format, "format", "", fmt.Sprintf("report format %v (default: the --output file's extension, else table)", report.Formats))
	fl.StringVarP(output, "output", "o", "", "write the report to this file ("+strings.Join(report.FileExtensions(), ", ")+" set its format; - is standard output)")
	_ = cmd.RegisterFlagCompletionFunc("format", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return reportFormatNames(), cobra.ShellCompDirectiveNoFileComp
	})
}

// formatWords are what a format is called: an --output equal to one of
// them (json, md) is a format typed where a file name belongs (-o json, as
// kubectl spells the output format).
var formatWords = map[string]report.Format{
	"table": report.Table, "text": report.Table, "txt": report.Table,
	"json":     report.JSON,
	"markdown": report.Markdown, "md": report.Markdown,
	"html": report.HTML, "htm": report.HTML,
}

// reportFormat decides the report's format from --format and --output:
//
//   - an --output extension that names a format (report.FormatOfFile) sets
//     it, and an explicit --format that says otherwise is a usage error;
//   - an --output that is a format's name (json, html) is a usage error
//     pointing to --format;
//   - an --output with another extension needs --format (a .pdf would
//     otherwise get a text table);
//   - an --output without extension, standard output (no --output, or -)
//     take --format, table by default.
func reportFormat(cmd *cobra.Command, format, output string) (report.Format, error) {
	explicit := cmd.Flags().Changed("format")
	f := report.Table
	if explicit {
		var err error
		if f, err = report.ParseFormat(format); err != nil {
			return "", usageError{fmt.Errorf("--format: %w", err)}
		}
	}
	if output == "" || output == "-" {
		return f, nil
	}
	base := filepath.Base(output)
	if w, ok := formatWords[strings.ToLower(base)]; ok && base == output {
		return "", usageError{fmt.Errorf("--output %s would write the report to a file named %q; --output takes a file name (its extension sets the format), --format the format: --format %s", output, base, w)}
	}
	byExt, known := report.FormatOfFile(output)
	switch ext := filepath.Ext(output); {
	case known && explicit && byExt != f:
		return "", usageError{fmt.Errorf("--format %s contradicts --output %s, whose extension says %s; drop --format, or change the file's extension", f, output, byExt)}
	case known:
		return byExt, nil
	case ext != "" && !explicit:
		return "", usageError{fmt.Errorf("--output %s: %s is not a report extension (%s); give --format to write that file anyway", output, ext, strings.Join(report.FileExtensions(), ", "))}
	}
	return f, nil
}

// writeReport renders the report to standard output (no --output, or -)
// or, atomically, to a file.
func writeReport(cmd *cobra.Command, rep *analysis.Report, f report.Format, output string) error {
	var buf bytes.Buffer
	if err := report.Write(&buf, rep, f); err != nil {
		return err
	}
	if output == "" || output == "-" {
		_, err := cmd.OutOrStdout().Write(buf.Bytes())
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(output), ".verdict-report-*")
	if err != nil {
		return fmt.Errorf("writing the report to %s: %w", output, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("writing the report to %s: %w", output, err)
	}
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("writing the report to %s: %w", output, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing the report to %s: %w", output, err)
	}
	if err := os.Rename(tmp.Name(), output); err != nil {
		return fmt.Errorf("writing the report to %s: %w", output, err)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "%s: %s (report written to %s as %s)\n", rep.Name, rep.Verdict, output, f)
	return nil
}

// reportFormatNames lists the formats, for help texts.
func reportFormatNames() []string {
	names := make([]string, len(report.Formats))
	for i, f := range report.Formats {
		names[i] = string(f)
	}
	return names
}
