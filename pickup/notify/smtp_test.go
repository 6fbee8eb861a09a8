package notify

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
)

// mailbox is a go-smtp backend that keeps what it receives and refuses
// recipients on demand.
type mailbox struct {
	user, pass string            // AUTH PLAIN credentials; "" accepts mail without AUTH
	rcptErr    *gosmtp.SMTPError // answer to RCPT TO, if set

	mu    sync.Mutex
	mails []receivedMail
}

type receivedMail struct {
	from, to string
	data     []byte
	tls      bool
}

func (b *mailbox) NewSession(c *gosmtp.Conn) (gosmtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	return &mailSession{box: b, tls: isTLS, conn: c}, nil
}

func (b *mailbox) received() []receivedMail {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]receivedMail(nil), b.mails...)
}

type mailSession struct {
	box    *mailbox
	conn   *gosmtp.Conn
	tls    bool
	authed bool
	cur    receivedMail
}

func (s *mailSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *mailSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.box.user || pass != s.box.pass {
			return gosmtp.ErrAuthFailed
		}
		s.authed = true
		return nil
	}), nil
}

func (s *mailSession) Mail(from string, _ *gosmtp.MailOptions) error {
	if s.box.user != "" && !s.authed {
		return gosmtp.ErrAuthRequired
	}
	s.cur.from = from
	return nil
}

func (s *mailSession) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	if s.box.rcptErr != nil {
		return s.box.rcptErr
	}
	s.cur.to = to
	return nil
}

func (s *mailSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = data
	_, s.cur.tls = s.conn.TLSConnectionState()
	s.box.mu.Lock()
	s.box.mails = append(s.box.mails, s.cur)
	s.box.mu.Unlock()
	return nil
}

func (s *mailSession) Reset()        { s.cur = receivedMail{} }
func (s *mailSession) Logout() error { return nil }

// startSMTP runs a real SMTP server on loopback and returns its port.
func startSMTP(t *testing.T, box *mailbox, tlsCfg *tls.Config) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := gosmtp.NewServer(box)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.TLSConfig = tlsCfg
	srv.ReadTimeout = 5 * time.Second
	srv.WriteTimeout = 5 * time.Second
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

func mailConfig(port int) SMTPConfig {
	return SMTPConfig{
		Host: "127.0.0.1", Port: port, From: "邻里团 <notice@linli.example>",
		Username: "notice", Password: "pw", Timeout: 3 * time.Second,
	}
}

func emailMessage() Message {
	m := testMessage()
	m.Email = "wangfang@example.com"
	return m
}

func TestSMTPDelivers(t *testing.T) {
	box := &mailbox{user: "notice", pass: "pw"}
	port := startSMTP(t, box, nil)
	ch := NewSMTP(mailConfig(port))
	if ch.Name() != ChannelEmail {
		t.Fatalf("Name = %q", ch.Name())
	}
	m := emailMessage()
	m.Text = strings.Repeat("您的订单已到达幸福里便利店，提货码8-3-12。", 5) // longer than one base64 line
	if err := ch.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := box.received()
	if len(got) != 1 {
		t.Fatalf("received %d mails", len(got))
	}
	if got[0].from != "notice@linli.example" || got[0].to != "wangfang@example.com" {
		t.Errorf("envelope %s -> %s", got[0].from, got[0].to)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(got[0].data))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, got[0].data)
	}
	for _, line := range strings.Split(string(got[0].data), "\r\n") {
		if len(line) > 78 {
			t.Errorf("line longer than 78: %q", line)
		}
		for _, r := range line {
			if r > 127 {
				t.Fatalf("raw non-ASCII in message: %q", line)
			}
		}
	}
	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || subject != "您的包裹已到达自提点" {
		t.Errorf("subject = %q (%v), raw %q", subject, err, msg.Header.Get("Subject"))
	}
	to, err := msg.Header.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Name != "王芳" || to[0].Address != m.Email {
		t.Errorf("To = %v (%v)", to, err)
	}
	from, err := msg.Header.AddressList("From")
	if err != nil || from[0].Name != "邻里团" {
		t.Errorf("From = %v (%v)", from, err)
	}
	if key, _ := dec.DecodeHeader(msg.Header.Get("X-Groupbuy-Key")); key != m.Key {
		t.Errorf("X-Groupbuy-Key = %q", key)
	}
	if ct := msg.Header.Get("Content-Type"); ct != "text/plain; charset=UTF-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	raw, _ := io.ReadAll(msg.Body)
	body, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(string(raw), "\r\n", ""))
	if err != nil || string(body) != m.Text {
		t.Errorf("body = %q (%v)", body, err)
	}

	// A retry of the same notice carries the same Message-ID.
	if err := ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	again, _ := mail.ReadMessage(bytes.NewReader(box.received()[1].data))
	id := msg.Header.Get("Message-ID")
	if id == "" || again.Header.Get("Message-ID") != id || !strings.HasSuffix(id, "@linli.example>") {
		t.Errorf("Message-ID %q then %q", id, again.Header.Get("Message-ID"))
	}
}

func TestSMTPReplyClasses(t *testing.T) {
	tests := []struct {
		name      string
		box       *mailbox
		permanent bool
	}{
		{"550 unknown mailbox", &mailbox{user: "notice", pass: "pw", rcptErr: &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "no such user"}}, true},
		{"451 try later", &mailbox{user: "notice", pass: "pw", rcptErr: &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "try again later"}}, false},
		{"535 bad password", &mailbox{user: "notice", pass: "other"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			port := startSMTP(t, tt.box, nil)
			err := NewSMTP(mailConfig(port)).Send(context.Background(), emailMessage())
			if err == nil {
				t.Fatal("no error")
			}
			if IsPermanent(err) != tt.permanent {
				t.Errorf("IsPermanent(%v) = %v, want %v", err, IsPermanent(err), tt.permanent)
			}
			if len(tt.box.received()) != 0 {
				t.Error("mail accepted anyway")
			}
		})
	}
}

func TestSMTPNotApplicableAndBadAddress(t *testing.T) {
	ch := NewSMTP(mailConfig(1)) // never dialled
	m := emailMessage()
	m.Email = ""
	if err := ch.Send(context.Background(), m); !errors.Is(err, ErrNotApplicable) {
		t.Errorf("no address: %v, want ErrNotApplicable", err)
	}
	m.Email = "not an address\r\nBcc: x@y"
	if err := ch.Send(context.Background(), m); err == nil || !IsPermanent(err) {
		t.Errorf("bad address: %v, want permanent", err)
	}
}

func TestSMTPTimeout(t *testing.T) {
	// A server that accepts and never greets.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	cfg := mailConfig(l.Addr().(*net.TCPAddr).Port)
	cfg.Timeout = 200 * time.Millisecond
	start := time.Now()
	err = NewSMTP(cfg).Send(context.Background(), emailMessage())
	if err == nil || IsPermanent(err) {
		t.Errorf("err = %v, want transient", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestSMTPStartTLS(t *testing.T) {
	serverTLS, roots := selfSignedTLS(t)

	box := &mailbox{user: "notice", pass: "pw"}
	cfg := mailConfig(startSMTP(t, box, serverTLS))
	cfg.TLS = TLSRequired
	cfg.TLSConfig = &tls.Config{RootCAs: roots}
	if err := NewSMTP(cfg).Send(context.Background(), emailMessage()); err != nil {
		t.Fatalf("Send over STARTTLS: %v", err)
	}
	if got := box.received(); len(got) != 1 || !got[0].tls {
		t.Errorf("received %+v, want one mail over TLS", got)
	}

	// An untrusted certificate will not become trusted by retrying.
	cfg.TLSConfig = &tls.Config{RootCAs: x509.NewCertPool()}
	if err := NewSMTP(cfg).Send(context.Background(), emailMessage()); err == nil || !IsPermanent(err) {
		t.Errorf("untrusted certificate: %v, want permanent", err)
	}

	// TLS required but not offered.
	plain := mailConfig(startSMTP(t, &mailbox{user: "notice", pass: "pw"}, nil))
	plain.TLS = TLSRequired
	if err := NewSMTP(plain).Send(context.Background(), emailMessage()); err == nil || !IsPermanent(err) {
		t.Errorf("no STARTTLS offered: %v, want permanent", err)
	}
}

// selfSignedTLS makes a certificate for 127.0.0.1 and the pool trusting it.
func selfSignedTLS(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "notify test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}

// TestSMTPAttachments: a message with files goes as multipart/mixed, the
// text first, each file a base64 part named by its Content-Disposition.
func TestSMTPAttachments(t *testing.T) {
	box := &mailbox{user: "notice", pass: "pw"}
	ch := NewSMTP(mailConfig(startSMTP(t, box, nil)))
	m := emailMessage()
	pdf := bytes.Repeat([]byte("%PDF-1.4 \x00\xff"), 40)
	m.Attachments = []Attachment{{Name: "PO-1.pdf", ContentType: "application/pdf", Content: pdf},
		{Name: "PO-1.csv", ContentType: "text/csv; charset=utf-8", Content: []byte("采购单号,数量\nPO-1,12\n")}}
	if err := ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(box.received()[0].data))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		t.Fatalf("Content-Type %q (%v)", msg.Header.Get("Content-Type"), err)
	}
	r := multipart.NewReader(msg.Body, params["boundary"])
	var names []string
	var bodies [][]byte
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(p)
		b, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(string(raw), "\r\n", ""))
		if err != nil {
			t.Fatalf("part %q: %v", p.FileName(), err)
		}
		names, bodies = append(names, p.FileName()), append(bodies, b)
	}
	if len(names) != 3 || names[0] != "" || string(bodies[0]) != m.Text || names[1] != "PO-1.pdf" || !bytes.Equal(bodies[1], pdf) ||
		names[2] != "PO-1.csv" || !strings.Contains(string(bodies[2]), "采购单号") {
		t.Fatalf("parts %q", names)
	}
}
