// Package importrules holds the module's import rules, written as data in its test: a
// table of which packages may not import which. A new package or feature adds its own
// line there (the dashboard: web may not import the store or a warehouse writer). The
// test also proves the production build of `ice` links no simulator and no test
// server. The package has no code of its own.
package importrules
