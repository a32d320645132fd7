package mesh

import (
	"os"
	"runtime"
	"strings"
	"sync"
)

// ClientName and ClientVersion identify this client to MESH: Mex-ClientVersion is
// "{name}=={version}", the form NHS England's reference client (mesh-client) sends.
const (
	ClientName    = "icesurvey-mesh"
	ClientVersion = "1.1.0"
)

// Platform is what the handshake tells MESH about the machine the client runs on
// (Mex-OSName, Mex-OSVersion, Mex-OSArchitecture). MESH requires the first two.
type Platform struct {
	OSName         string // e.g. "Linux"
	OSVersion      string // e.g. "6.8.0-45-generic #45-Ubuntu SMP"
	OSArchitecture string // e.g. "x86_64"
}

var (
	platformOnce sync.Once
	platform     Platform
)

// LocalPlatform describes the running machine the way Python's platform module does
// for the reference client: the system name capitalised, the kernel release and
// version, and the machine architecture. Values are never empty and never hold a
// control character (a header value cannot).
func LocalPlatform() Platform {
	platformOnce.Do(func() {
		platform = Platform{OSName: osName(runtime.GOOS), OSArchitecture: osArch(runtime.GOARCH)}
		release := readProc("/proc/sys/kernel/osrelease")
		version := readProc("/proc/sys/kernel/version")
		platform.OSVersion = headerSafe(strings.TrimSpace(release+" "+version), 100)
		if platform.OSVersion == "" {
			platform.OSVersion = "unknown"
		}
	})
	return platform
}

func osName(goos string) string {
	switch goos {
	case "linux":
		return "Linux"
	case "darwin":
		return "Darwin"
	case "windows":
		return "Windows"
	case "freebsd":
		return "FreeBSD"
	}
	if goos == "" {
		return "unknown"
	}
	return strings.ToUpper(goos[:1]) + goos[1:]
}

func osArch(goarch string) string {
	switch goarch {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "aarch64"
	case "386":
		return "i686"
	}
	return goarch
}

func readProc(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// headerSafe replaces control characters with spaces, collapses runs of spaces and
// cuts s to at most max bytes (at a character boundary).
func headerSafe(s string, max int) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || r == ' ' }), " ")
	if len(s) > max {
		cut := max
		for cut > 0 && s[cut]&0xC0 == 0x80 {
			cut--
		}
		s = strings.TrimSpace(s[:cut])
	}
	return s
}
