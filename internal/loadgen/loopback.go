package loadgen

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
)

// ParseURL reads the server's base URL (http://127.0.0.1:8080, optionally
// with a path prefix) and checks that its host is a loopback address
// (CheckLoopback). Query, fragment and user information are refused.
func ParseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("want a URL such as http://127.0.0.1:8080: %w", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("scheme %q, want http or https (a URL such as http://127.0.0.1:8080)", u.Scheme)
	case u.Host == "":
		return nil, fmt.Errorf("no host, want a URL such as http://127.0.0.1:8080")
	case u.User != nil:
		return nil, fmt.Errorf("user information in the URL is not supported")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, fmt.Errorf("want a base URL without query or fragment, such as http://127.0.0.1:8080")
	}
	if err := CheckLoopback(u.Hostname()); err != nil {
		return nil, err
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// CheckLoopback accepts a host that is a loopback address: an IP in
// 127.0.0.0/8 or ::1 (IPv4-mapped forms included), or the name localhost.
// The load generator only ever loads a server on the same machine: pointed
// at a shared server, it would be a denial-of-service tool.
func CheckLoopback(host string) error {
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return nil
	}
	if a, err := netip.ParseAddr(host); err == nil && a.Unmap().IsLoopback() {
		return nil
	}
	return fmt.Errorf("host %q is not a loopback address: the load generator only loads a server on this machine (127.0.0.0/8, ::1, localhost)", host)
}

// loopbackControl is the dialer's check of the address it is about to
// connect to: a loopback IP, whatever a name such as localhost resolved
// to.
func loopbackControl(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("loadgen: refusing to connect to %s: %w", address, err)
	}
	if !ap.Addr().Unmap().IsLoopback() {
		return fmt.Errorf("loadgen: refusing to connect to %s: not a loopback address", address)
	}
	return nil
}
