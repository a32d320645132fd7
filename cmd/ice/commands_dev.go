//go:build !production

package main

import "github.com/spf13/cobra"

// devCommands are the embedded stack's commands, left out of a production build.
func devCommands() []*cobra.Command { return []*cobra.Command{devCmd(), demoCmd()} }

// devBuild: this build has the embedded stack, whose workers serve the simulators.
const devBuild = true
