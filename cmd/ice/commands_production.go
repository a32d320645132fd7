//go:build production

package main

import "github.com/spf13/cobra"

// devCommands: a production build has no embedded stack and no simulators.
func devCommands() []*cobra.Command { return nil }

// devBuild: a production build's loads never ask for a simulator, which no production
// worker serves (--simulate is not offered).
const devBuild = false
