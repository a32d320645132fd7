package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// composeService is what this test reads of a docker-compose.yml service.
type composeService struct {
	Build       any               `yaml:"build"`
	Command     any               `yaml:"command"` // a list for ours; others' may be a string
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	Restart     string            `yaml:"restart"`
}

// composeVar is a ${NAME}, ${NAME:-default} or ${NAME:?message} of docker-compose.
var composeVar = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?([-?])([^}]*))?\}`)

// interpolate gives compose variables their defaults, and a required one a stand-in,
// as `docker-compose config` does with an .env that sets the required ones.
func interpolate(s string) string {
	return composeVar.ReplaceAllStringFunc(s, func(m string) string {
		p := composeVar.FindStringSubmatch(m)
		if p[2] == "-" {
			return p[3]
		}
		return "set-in-env-" + p[1]
	})
}

// TestComposeCommandsAreTheCLIs checks docker-compose.yml against the CLI it runs, which
// `docker-compose config` (infra/test.sh) cannot: every service built from this
// repository runs an ice command that exists, with flags and arguments that command
// accepts; every ICE_ and TEMPORAL_ variable it sets is one the code reads (a misspelt
// one would be ignored in silence); every absolute path it names in a flag or variable
// is inside a volume mounted into that service; and it is restarted when it stops (a
// worker or the dashboard that exits, e.g. started before the cluster or the warehouse
// file is there, would otherwise stay down).
func TestComposeCommandsAreTheCLIs(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Services map[string]composeService `yaml:"services"`
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	read := variablesTheCodeReads(t)
	ours := 0
	for name, svc := range file.Services {
		if b, _ := svc.Build.(string); b != "." {
			continue
		}
		ours++
		t.Run(name, func(t *testing.T) {
			list, ok := svc.Command.([]any)
			if !ok {
				t.Fatalf("command %v: give it as a list, as the image's entry point (ice) takes it", svc.Command)
			}
			var args []string
			for _, a := range list {
				s, ok := a.(string)
				if !ok {
					t.Fatalf("command %v: %v is not a string", list, a)
				}
				args = append(args, interpolate(s))
			}
			if len(args) == 0 {
				t.Fatal("no command: the image's entry point is ice, which needs one")
			}
			root := rootCmd()
			cmd, rest, err := root.Find(args)
			if err != nil || cmd == root {
				t.Fatalf("command %q is not an ice command (%v)", args, err)
			}
			if svc.Restart != "unless-stopped" && svc.Restart != "always" {
				t.Errorf("restart: %q; a long-running service needs unless-stopped or always", svc.Restart)
			}
			if cmd.RunE == nil && cmd.Run == nil {
				t.Fatalf("ice %s does nothing by itself", cmd.Name())
			}
			if err := cmd.ParseFlags(rest); err != nil {
				t.Fatalf("ice %s %q: %v", cmd.Name(), rest, err)
			}
			if err := cmd.ValidateArgs(cmd.Flags().Args()); err != nil {
				t.Fatalf("ice %s %q: %v", cmd.Name(), rest, err)
			}
			var mounts []string
			for _, v := range svc.Volumes {
				parts := strings.Split(interpolate(v), ":")
				if len(parts) < 2 {
					t.Fatalf("volume %q has no target", v)
				}
				mounts = append(mounts, parts[1])
			}
			var paths []string
			for _, a := range args {
				if strings.HasPrefix(a, "/") {
					paths = append(paths, a)
				}
			}
			for k, v := range svc.Environment {
				if (strings.HasPrefix(k, "ICE_") || strings.HasPrefix(k, "TEMPORAL_")) && !read[k] {
					t.Errorf("environment %s is read by nothing in the code", k)
				}
				if v = interpolate(v); strings.HasPrefix(v, "/") {
					paths = append(paths, v)
				}
			}
			for _, p := range paths {
				if !slices.ContainsFunc(mounts, func(m string) bool { return p == m || strings.HasPrefix(p, strings.TrimSuffix(m, "/")+"/") }) {
					t.Errorf("%s is in no volume mounted into %s (%v)", p, name, mounts)
				}
			}
		})
	}
	for _, want := range []string{"worker", "warehouse-worker", "dashboard"} {
		if _, ok := file.Services[want]; !ok {
			t.Errorf("docker-compose.yml has no %s service", want)
		}
	}
	if ours == 0 {
		t.Fatal("no service is built from this repository")
	}
}

// variablesTheCodeReads is every quoted ICE_ or TEMPORAL_ name in the repository's
// non-test Go code.
func variablesTheCodeReads(t *testing.T) map[string]bool {
	t.Helper()
	name := regexp.MustCompile(`"((?:ICE|TEMPORAL)_[A-Z0-9_]+)"`)
	read := map[string]bool{}
	err := filepath.WalkDir(filepath.Join("..", ".."), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) && path != filepath.Join("..", "..") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range name.FindAllSubmatch(b, -1) {
			read[string(m[1])] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return read
}

// TestCodingPageReachesTemporalAsTheWorkersDo: the dashboard's coding client takes the
// namespace, API key and TLS files from the TEMPORAL_* environment, the address from
// --coding-temporal.
func TestCodingPageReachesTemporalAsTheWorkersDo(t *testing.T) {
	t.Setenv("TEMPORAL_ADDRESS", "ignored:7233")
	t.Setenv("TEMPORAL_NAMESPACE", "ice-prod")
	t.Setenv("TEMPORAL_API_KEY", "")
	t.Setenv("TEMPORAL_TLS_CERT", "/run/secrets/client.pem")
	t.Setenv("TEMPORAL_TLS_KEY", "/run/secrets/client.key")
	t.Setenv("TEMPORAL_TLS_CA", "/run/secrets/ca.pem")
	t.Setenv("TEMPORAL_TLS_SERVER_NAME", "temporal.internal")
	c := codingClientConfig("temporal:7233")
	if c.Address != "temporal:7233" || c.Namespace != "ice-prod" || c.TLSCertFile != "/run/secrets/client.pem" ||
		c.TLSKeyFile != "/run/secrets/client.key" || c.TLSCAFile != "/run/secrets/ca.pem" || c.TLSServerName != "temporal.internal" {
		t.Fatalf("coding client config = %+v", c)
	}
	t.Setenv("TEMPORAL_NAMESPACE", "")
	if c := codingClientConfig("temporal:7233"); c.Namespace != "icesurvey" {
		t.Fatalf("default namespace = %q, want icesurvey", c.Namespace)
	}
}
