package auth

import (
	"crypto/tls"
	"errors"
	"net/http/httptest"
	"testing"
)

// TestSameOrigin: which writes a browser may send with a cookie.
func TestSameOrigin(t *testing.T) {
	cases := []struct {
		name    string
		method  string
		tls     bool
		headers []string
		ok      bool
	}{
		{"a read", "GET", false, []string{"Origin", "http://evil.example"}, true},
		{"a HEAD", "HEAD", false, nil, true},
		{"Sec-Fetch-Site same-origin", "POST", false, []string{"Sec-Fetch-Site", "same-origin"}, true},
		{"Sec-Fetch-Site none (typed by the user)", "POST", false, []string{"Sec-Fetch-Site", "none"}, true},
		{"Sec-Fetch-Site same-site", "POST", false, []string{"Sec-Fetch-Site", "same-site", "Origin", "http://api.example"}, false},
		{"Sec-Fetch-Site cross-site", "DELETE", false, []string{"Sec-Fetch-Site", "cross-site"}, false},
		{"Sec-Fetch-Site decides over Origin", "POST", false, []string{"Sec-Fetch-Site", "cross-site", "Origin", "http://api.example"}, false},
		{"own Origin", "POST", false, []string{"Origin", "http://api.example"}, true},
		{"own Origin over TLS", "POST", true, []string{"Origin", "https://api.example"}, true},
		{"own Origin behind a TLS proxy", "POST", false, []string{"Origin", "https://api.example", "X-Forwarded-Proto", "https"}, true},
		{"http Origin to a TLS server", "POST", true, []string{"Origin", "http://api.example"}, false},
		{"https Origin to a plain server", "POST", false, []string{"Origin", "https://api.example"}, false},
		{"another port", "POST", false, []string{"Origin", "http://api.example:8080"}, false},
		{"a sibling subdomain", "POST", false, []string{"Origin", "http://evil.api.example"}, false},
		{"an opaque Origin", "POST", false, []string{"Origin", "null"}, false},
		{"Origin with a path", "POST", false, []string{"Origin", "http://api.example/"}, false},
		{"no header at all", "POST", false, nil, false},
	}
	for _, tc := range cases {
		r := httptest.NewRequest(tc.method, "http://api.example/console/queues/api/queues/default:pause", nil)
		if tc.tls {
			r.TLS = &tls.ConnectionState{}
		}
		for i := 0; i+1 < len(tc.headers); i += 2 {
			r.Header.Set(tc.headers[i], tc.headers[i+1])
		}
		err := SameOrigin(r)
		if tc.ok && err != nil {
			t.Errorf("%s: refused: %v", tc.name, err)
		}
		if !tc.ok && !errors.Is(err, ErrCrossOrigin) {
			t.Errorf("%s: %v, want ErrCrossOrigin", tc.name, err)
		}
	}
}
