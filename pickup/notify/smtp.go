package notify

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// TLSMode says how the SMTP channel protects the connection.
type TLSMode string

// TLS modes. Chinese providers (Aliyun DirectMail, Tencent Exmail, 163) serve
// both STARTTLS on 25/587/80 and implicit TLS on 465.
const (
	TLSOpportunistic TLSMode = "opportunistic" // STARTTLS when offered; the default
	TLSRequired      TLSMode = "required"      // STARTTLS or no delivery
	TLSImplicit      TLSMode = "implicit"      // TLS from the first byte (SMTPS, port 465)
)

// SMTPConfig configures the e-mail channel.
type SMTPConfig struct {
	Host      string          // e.g. "smtpdm.aliyun.com"
	Port      int             // default 465 with TLSImplicit, else 587
	Username  string          // empty: no AUTH
	Password  string          // for AUTH PLAIN
	From      string          // e.g. "邻里团 <notice@example.com>"
	TLS       TLSMode         // default TLSOpportunistic
	TLSConfig *tls.Config     // optional, e.g. extra root CAs; ServerName defaults to Host
	Timeout   time.Duration   // bounds the whole conversation; default 10 s
	HelloName string          // EHLO name; default "localhost"
	Subjects  map[Kind]string // per-kind subject overrides of the Chinese defaults
}

// defaultSubjects are the e-mail subjects per notice kind.
var defaultSubjects = map[Kind]string{
	KindArrival:    "您的包裹已到达自提点",
	KindReminder:   "取件提醒：您的包裹尚未领取",
	KindRefund:     "退款已提交",
	KindRefundPaid: "退款已到账",
	KindReturn:     "包裹超时未取，已退回",
}

const fallbackSubject = "社区团购通知"

// SMTP sends notices as plain-text e-mail, one connection per message: mail
// is the last channel in the chain and carries little volume.
type SMTP struct {
	cfg  SMTPConfig
	from *mail.Address
	err  error // a From that does not parse fails every Send permanently
	now  func() time.Time
}

// NewSMTP returns the e-mail channel for cfg.
func NewSMTP(cfg SMTPConfig) *SMTP {
	if cfg.TLS == "" {
		cfg.TLS = TLSOpportunistic
	}
	if cfg.Port == 0 {
		cfg.Port = 587
		if cfg.TLS == TLSImplicit {
			cfg.Port = 465
		}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.HelloName == "" {
		cfg.HelloName = "localhost"
	}
	s := &SMTP{cfg: cfg, now: time.Now}
	s.from, s.err = mail.ParseAddress(cfg.From)
	if s.err != nil {
		s.err = Permanent(fmt.Errorf("notify: smtp: from %q: %w", cfg.From, s.err))
	}
	return s
}

// Name returns "email".
func (s *SMTP) Name() string { return ChannelEmail }

// Send mails m.Text to m.Email. A resident without an address is
// ErrNotApplicable; an address that does not parse is permanent.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	if m.Email == "" {
		return fmt.Errorf("%w: no e-mail address", ErrNotApplicable)
	}
	if s.err != nil {
		return s.err
	}
	to, err := mail.ParseAddress(m.Email)
	if err != nil {
		return Permanent(fmt.Errorf("notify: smtp: bad address %q: %w", m.Email, err))
	}
	to.Name = m.Name
	msg, err := s.compose(m, to)
	if err != nil {
		return err
	}
	if err := s.deliver(ctx, to.Address, msg); err != nil {
		return classifySMTP(err)
	}
	return nil
}

// compose builds the RFC 5322 message. Headers carry non-ASCII only as RFC
// 2047 encoded words and the body goes base64, so the Chinese text survives
// relays that do not speak 8BITMIME or SMTPUTF8.
func (s *SMTP) compose(m Message, to *mail.Address) ([]byte, error) {
	if strings.ContainsAny(m.Key, "\r\n") || strings.ContainsAny(string(m.Kind), "\r\n") {
		return nil, Permanent(errors.New("notify: smtp: line break in key or kind"))
	}
	if m.Text == "" {
		return nil, Permanent(errors.New("notify: smtp: empty text"))
	}
	subject := s.cfg.Subjects[m.Kind]
	if subject == "" {
		subject = defaultSubjects[m.Kind]
	}
	if subject == "" {
		subject = fallbackSubject
	}
	var b strings.Builder
	header := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	header("From", s.from.String())
	header("To", to.String())
	header("Subject", foldEncoded(mime.BEncoding.Encode("UTF-8", subject)))
	header("Date", s.now().Format(time.RFC1123Z))
	header("Message-ID", messageID(m.Key, s.from.Address))
	header("X-Groupbuy-Key", mime.BEncoding.Encode("UTF-8", m.Key))
	header("X-Groupbuy-Kind", mime.BEncoding.Encode("UTF-8", string(m.Kind)))
	header("MIME-Version", "1.0")
	if len(m.Attachments) == 0 {
		writePart(&b, "text/plain; charset=UTF-8", "", []byte(m.Text))
		return []byte(b.String()), nil
	}
	// The boundary comes from the key, so a retry is the same bytes; base64
	// parts never hold "=_" twice in a row, so it cannot occur inside one.
	sum := sha256.Sum256([]byte(m.Key))
	boundary := "=_" + hex.EncodeToString(sum[:12])
	header("Content-Type", `multipart/mixed; boundary="`+boundary+`"`)
	b.WriteString("\r\n")
	b.WriteString("--" + boundary + "\r\n")
	writePart(&b, "text/plain; charset=UTF-8", "", []byte(m.Text))
	for _, a := range m.Attachments {
		b.WriteString("--" + boundary + "\r\n")
		disp := mime.FormatMediaType("attachment", map[string]string{"filename": a.Name})
		if disp == "" || strings.ContainsAny(a.ContentType, "\r\n") {
			return nil, Permanent(fmt.Errorf("notify: smtp: bad attachment %q", a.Name))
		}
		writePart(&b, a.ContentType, disp, a.Content)
	}
	b.WriteString("--" + boundary + "--\r\n")
	return []byte(b.String()), nil
}

// writePart writes a part's headers and its content in base64 lines of 76.
func writePart(b *strings.Builder, contentType, disposition string, content []byte) {
	b.WriteString("Content-Type: " + contentType + "\r\n")
	if disposition != "" {
		b.WriteString("Content-Disposition: " + disposition + "\r\n")
	}
	b.WriteString("Content-Transfer-Encoding: base64\r\n\r\n")
	body := base64.StdEncoding.EncodeToString(content)
	for len(body) > 76 {
		b.WriteString(body[:76] + "\r\n")
		body = body[76:]
	}
	b.WriteString(body + "\r\n")
}

// foldEncoded puts each encoded word of a long subject on its own line so
// no header line passes the 78 characters RFC 5322 recommends.
func foldEncoded(s string) string { return strings.ReplaceAll(s, "?= =?", "?=\r\n =?") }

// messageID derives the Message-ID from the notice key, so every retry of a
// notice carries the same ID and mail systems can recognise the duplicate.
func messageID(key, from string) string {
	domain := "groupbuy.local"
	if at := strings.LastIndexByte(from, '@'); at >= 0 {
		domain = from[at+1:]
	}
	sum := sha256.Sum256([]byte(key))
	return "<" + hex.EncodeToString(sum[:16]) + ".notify@" + domain + ">"
}

// deliver runs one SMTP conversation. net/smtp knows no context, so the
// connection's deadline carries both the timeout and ctx's cancellation.
func (s *SMTP) deliver(ctx context.Context, to string, msg []byte) error {
	deadline := time.Now().Add(s.cfg.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	addr := net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port))
	dialer := &net.Dialer{Deadline: deadline}
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetDeadline(deadline); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	tlsCfg := &tls.Config{ServerName: s.cfg.Host, MinVersion: tls.VersionTLS12}
	if s.cfg.TLSConfig != nil {
		tlsCfg = s.cfg.TLSConfig.Clone()
		if tlsCfg.ServerName == "" {
			tlsCfg.ServerName = s.cfg.Host
		}
	}
	if s.cfg.TLS == TLSImplicit {
		tc := tls.Client(conn, tlsCfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return err
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, s.cfg.Host)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello(s.cfg.HelloName); err != nil {
		return err
	}
	if s.cfg.TLS != TLSImplicit {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tlsCfg); err != nil {
				return err
			}
		} else if s.cfg.TLS == TLSRequired {
			return Permanent(fmt.Errorf("notify: smtp: %s offers no STARTTLS and TLS is required", addr))
		}
	}
	if s.cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, s.cfg.Host)); err != nil {
			return err
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	// The server has taken the message; a failed QUIT changes nothing.
	_ = c.Quit()
	return nil
}

// classifySMTP marks what a retry cannot fix: a 5xx reply (unknown mailbox,
// refused sender, failed AUTH) and a certificate that does not verify. A
// 4xx reply, a timeout or a dropped connection stays transient.
func classifySMTP(err error) error {
	if IsPermanent(err) {
		return err
	}
	err = fmt.Errorf("notify: smtp: %w", err)
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return Permanent(err)
	}
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	if errors.As(err, &certErr) || errors.As(err, &unknownAuth) || errors.As(err, &hostErr) {
		return Permanent(err)
	}
	// net/smtp reports its own refusals, such as PLAIN over an unencrypted
	// link to a remote host, as plain errors; they repeat on every try.
	if msg := err.Error(); strings.Contains(msg, "unencrypted connection") || strings.Contains(msg, "doesn't support AUTH") {
		return Permanent(err)
	}
	return err
}
