package serve

import "runtime/debug"

// version returns the main module's version from the build info ("devel"
// without one), for GET /v2.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "devel"
}
