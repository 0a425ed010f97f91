package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/verdict-aca/verdict/analysis"
	"github.com/verdict-aca/verdict/kayenta/kayentaimport"
)

func newImportKayentaCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "import-kayenta FILE",
		Short: "Convert a Kayenta canary config (JSON) into a Verdict config (YAML) with judge: kayenta",
		Long: "Convert a Kayenta canary config, as stored by Kayenta's /canaryConfig endpoint, into a Verdict config on\n" +
			"standard output. The config selects judge: kayenta, so the same data judges to the same classifications and score.\n\n" +
			"Prometheus, InfluxDB (InfluxQL), Graphite, Datadog and New Relic queries are converted (${scope} and $scope\n" +
			"become {{.scope}}, and so on); other metric sources, extra groups,\n" +
			"unknown keys and mistyped values cannot be, and each is named on standard error with the reason, as are\n" +
			"conversions that change a meaning.\n\n" +
			"Exit codes: 0 when everything was converted (notes may still be printed), 65 when something could not be\n" +
			"converted (the partial config is still printed) or FILE is not a Kayenta canary config.",
		Example: `  verdict import-kayenta canary-config.json > checkout.yaml
  verdict validate -c checkout.yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			name := filepath.Base(path)
			out, problems, err := kayentaimport.Convert(name, data)
			if err != nil {
				return err
			}
			if _, err := cmd.OutOrStdout().Write(out); err != nil {
				return err
			}
			stderr := cmd.ErrOrStderr()
			for _, p := range problems {
				fmt.Fprintf(stderr, "verdict: %s: %s\n", name, p)
			}
			incomplete := kayentaimport.Incomplete(problems)
			if _, err := analysis.ParseConfig(name+" (converted)", out); err != nil {
				fmt.Fprintf(stderr, "verdict: the converted config does not validate yet: %s\n", sentence(err))
				incomplete = true
			}
			if incomplete {
				fmt.Fprintf(stderr, "verdict: %s was converted only in part; fix the items above before using the config\n", name)
				return verdictExit{exitData}
			}
			return nil
		},
	}
}
