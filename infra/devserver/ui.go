package devserver

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	"github.com/temporalio/ui-server/v2/server/server_options"
)

// UIServer is the Temporal Web UI served in-process.
type UIServer struct {
	srv *uiserver.Server
	url string
}

// StartUI serves the Temporal Web UI for the frontend at temporalHostPort on host:port
// (port 0 picks a free one).
func StartUI(temporalHostPort, host string, port int, namespace string) (*UIServer, error) {
	if port == 0 {
		p, err := FreePort(host)
		if err != nil {
			return nil, err
		}
		port = p
	} else if err := portFree(host, port); err != nil {
		// The UI server exits the process on a bind failure, so check first.
		return nil, fmt.Errorf("ui: port %d: %w", port, err)
	}
	cfg := &uiconfig.Config{
		TemporalGRPCAddress: temporalHostPort,
		Host:                host,
		Port:                port,
		EnableUI:            true,
		DefaultNamespace:    namespace,
		HideLogs:            true,
		DisableNewsFetch:    true,
		CORS:                uiconfig.CORS{CookieInsecure: true},
	}
	srv := uiserver.NewServer(server_options.WithConfigProvider(cfg))
	go func() { _ = srv.Start() }()
	u := &UIServer{srv: srv, url: "http://" + net.JoinHostPort(host, strconv.Itoa(port))}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(u.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			return u, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return u, fmt.Errorf("ui: not answering at %s", u.url)
}

// URL is the address to open in a browser.
func (u *UIServer) URL() string { return u.url }

// Stop stops the UI server.
func (u *UIServer) Stop() { u.srv.Stop() }
