package webhook

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"groupbuy/pickup/notify"
)

// A receiver counts each key once, takes a repeat as a repeat, and after
// Forget holds nothing of what came before.
func TestReceiverForgets(t *testing.T) {
	rc := NewReceiver("s3cret")
	url, stop, err := Serve(rc)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	send := func(key string) {
		t.Helper()
		body := []byte(`{"key":"` + key + `","kind":"arrival","resident_id":7,"text":"到货了"}`)
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Idempotency-Key", key)
		notify.Sign(req.Header, "s3cret", time.Now(), body)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("delivery of %s: %d", key, resp.StatusCode)
		}
	}
	send("a")
	send("a")
	send("b")
	if distinct, requests, bad := rc.Stats(); distinct != 2 || requests != 3 || bad != 0 {
		t.Fatalf("after a, a, b: %d distinct, %d requests, %d bad", distinct, requests, bad)
	}
	// a, captured and replayed under a fresh key: refused, no new notice.
	body := []byte(`{"key":"a","kind":"arrival","resident_id":7,"text":"到货了"}`)
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Idempotency-Key", "a:again")
	notify.Sign(req.Header, "s3cret", time.Now(), body)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if distinct, _, bad := rc.Stats(); resp.StatusCode != http.StatusUnauthorized || distinct != 2 || bad != 1 {
		t.Fatalf("a replayed under another key: %d, %d distinct, %d refused", resp.StatusCode, distinct, bad)
	}
	if n := rc.Notices()["a"]; n.Times != 2 || n.ResidentID != 7 {
		t.Fatalf("key a: %+v", n)
	}
	rc.Forget()
	if distinct, requests, _ := rc.Stats(); distinct != 0 || requests != 0 || len(rc.Notices()) != 0 {
		t.Fatalf("after Forget: %d distinct, %d requests", distinct, requests)
	}
	send("a")
	if n := rc.Notices()["a"]; n.Times != 1 {
		t.Fatalf("key a after Forget: %+v", n)
	}
}
