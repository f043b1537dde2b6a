package serve

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

// web holds the playground: a page that runs the server's own API
// (GET /v1/models, POST /v1/models/{name}/predict with "trace": true) and
// steps through an input's supervision steps. No framework, no external
// resource: it works on a machine with no network.
//
//go:embed web
var web embed.FS

// playgroundFiles serves the files of web/ under /playground/.
var playgroundFiles = func() http.Handler {
	sub, err := fs.Sub(web, "web")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return http.StripPrefix("/playground/", http.FileServerFS(sub))
}()

// servePlayground serves the page at / and its files under /playground/,
// with a content security policy that allows this origin only.
func servePlayground(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.URL.Path == "/" {
		page, err := web.ReadFile("web/index.html")
		if err != nil {
			panic(err)
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
		return
	}
	if strings.HasSuffix(r.URL.Path, "/") { // no directory listings
		http.NotFound(w, r)
		return
	}
	playgroundFiles.ServeHTTP(w, r)
}
