package web

import (
	"compress/gzip"
	"context"
	"net/http"
	"strings"
	"sync"
)

// Responses are gzip-compressed for clients that accept it: the design system's CSS
// is 270 KB as written and about a sixth of that compressed, which keeps a first page
// load under the 150 KB the issue sets. A route that shows free text (the free-text
// page and download, the coding queue, a profile's quotations) is marked
// uncompressed where it is declared (routes): such a page reflects what the request
// says next to restricted text, the shape a compression side channel (BREACH) needs.

// compressControl is the compress middleware's per-request switch, turned off by an
// uncompressed route before the handler writes anything.
type compressControl struct{ off bool }

type compressKey struct{}

// uncompressed marks a route whose responses must never be compressed.
func uncompressed(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := r.Context().Value(compressKey{}).(*compressControl); ok {
			c.off = true
		}
		h.ServeHTTP(w, r)
	})
}

var gzipPool = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return w
}}

func compressible(contentType string) bool {
	for _, p := range []string{"text/", "application/javascript", "image/svg+xml", "application/json"} {
		if strings.HasPrefix(contentType, p) {
			return true
		}
	}
	return false
}

func (s *Server) compress(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") || r.Header.Get("Range") != "" ||
			r.Method == http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Add("Vary", "Accept-Encoding")
		ctl := &compressControl{}
		gw := &gzipWriter{ResponseWriter: w, ctl: ctl}
		defer gw.close()
		next.ServeHTTP(gw, r.WithContext(context.WithValue(r.Context(), compressKey{}, ctl)))
	})
}

type gzipWriter struct {
	http.ResponseWriter
	ctl         *compressControl
	gz          *gzip.Writer
	wroteHeader bool
}

func (g *gzipWriter) WriteHeader(code int) {
	if g.wroteHeader {
		return
	}
	g.wroteHeader = true
	h := g.Header()
	if !g.ctl.off && code >= 200 && code != http.StatusNoContent && code != http.StatusNotModified && h.Get("Content-Encoding") == "" && compressible(h.Get("Content-Type")) {
		h.Set("Content-Encoding", "gzip")
		h.Del("Content-Length")
		g.gz = gzipPool.Get().(*gzip.Writer)
		g.gz.Reset(g.ResponseWriter)
	}
	g.ResponseWriter.WriteHeader(code)
}

func (g *gzipWriter) Write(b []byte) (int, error) {
	if !g.wroteHeader {
		if g.Header().Get("Content-Type") == "" {
			g.Header().Set("Content-Type", http.DetectContentType(b))
		}
		g.WriteHeader(http.StatusOK)
	}
	if g.gz != nil {
		return g.gz.Write(b)
	}
	return g.ResponseWriter.Write(b)
}

func (g *gzipWriter) close() {
	if g.gz != nil {
		_ = g.gz.Close()
		gzipPool.Put(g.gz)
		g.gz = nil
	}
}

func (g *gzipWriter) Unwrap() http.ResponseWriter { return g.ResponseWriter }
