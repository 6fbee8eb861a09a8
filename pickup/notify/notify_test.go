package notify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

var (
	errDown     = errors.New("receiver down")
	errRejected = errors.New("number rejected")
)

func TestSendFirst(t *testing.T) {
	type setup struct{ webhook, sms, email error }
	tests := []struct {
		name      string
		fail      setup
		skip      []string
		used      string
		permanent bool
		wantIs    []error
	}{
		{name: "first delivers", used: ChannelWebhook},
		{name: "falls back after a failure", fail: setup{webhook: errDown}, used: ChannelSMS},
		{name: "opted out of sms", fail: setup{webhook: errDown}, skip: []string{ChannelSMS}, used: ChannelEmail},
		{name: "not applicable is passed over", fail: setup{webhook: Permanent(errDown), sms: ErrNotApplicable}, used: ChannelEmail},
		{
			name: "mixed failures are transient", fail: setup{webhook: errDown, sms: Permanent(errRejected), email: ErrNotApplicable},
			wantIs: []error{errDown, errRejected},
		},
		{
			name: "all permanent", fail: setup{webhook: Permanent(errDown), sms: Permanent(errRejected), email: ErrNotApplicable},
			permanent: true, wantIs: []error{errDown, errRejected},
		},
		{
			name: "nothing to try", fail: setup{sms: ErrNotApplicable, email: fmt.Errorf("%w: no address", ErrNotApplicable)},
			skip: []string{ChannelWebhook}, permanent: true, wantIs: []error{ErrNoChannel},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wh, sms, email := NewRecorder(ChannelWebhook), NewRecorder(ChannelSMS), NewRecorder(ChannelEmail)
			wh.FailWith(tt.fail.webhook)
			sms.FailWith(tt.fail.sms)
			email.FailWith(tt.fail.email)
			skip := func(name string) bool {
				for _, s := range tt.skip {
					if s == name {
						return true
					}
				}
				return false
			}
			m := Message{Key: "k1", Kind: KindArrival}
			used, err := SendFirst(context.Background(), []Channel{wh, sms, email}, m, skip)
			if used != tt.used {
				t.Errorf("used = %q, want %q (err %v)", used, tt.used, err)
			}
			if tt.used != "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				for _, r := range []*Recorder{wh, sms, email} {
					if got := len(r.Messages()); (r.Name() == tt.used) != (got == 1) {
						t.Errorf("%s recorded %d messages", r.Name(), got)
					}
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			if IsPermanent(err) != tt.permanent {
				t.Errorf("IsPermanent = %v, want %v: %v", IsPermanent(err), tt.permanent, err)
			}
			for _, target := range tt.wantIs {
				if !errors.Is(err, target) {
					t.Errorf("err %v does not wrap %v", err, target)
				}
			}
			for _, s := range tt.skip {
				for _, r := range []*Recorder{wh, sms, email} {
					if r.Name() == s && r.Attempts() != 0 {
						t.Errorf("skipped %s was tried", s)
					}
				}
			}
		})
	}
}

func TestSendFirstNamesChannels(t *testing.T) {
	wh, sms := NewRecorder(ChannelWebhook), NewRecorder(ChannelSMS)
	wh.FailWith(errDown)
	sms.FailWith(errRejected)
	_, err := SendFirst(context.Background(), []Channel{wh, sms}, Message{}, nil)
	if msg := fmt.Sprint(err); !strings.Contains(msg, "webhook: receiver down") || !strings.Contains(msg, "sms: number rejected") {
		t.Errorf("err = %q", msg)
	}
}

func TestSendFirstStopsWhenContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := NewRecorder(ChannelWebhook)
	_, err := SendFirst(ctx, []Channel{r}, Message{}, nil)
	if !errors.Is(err, context.Canceled) || IsPermanent(err) || r.Attempts() != 0 {
		t.Errorf("err = %v, permanent %v, attempts %d", err, IsPermanent(err), r.Attempts())
	}
}

func TestPermanent(t *testing.T) {
	if Permanent(nil) != nil {
		t.Error("Permanent(nil) != nil")
	}
	err := fmt.Errorf("sending: %w", Permanent(errRejected))
	if !IsPermanent(err) || !errors.Is(err, errRejected) {
		t.Errorf("wrapped permanent lost: %v", err)
	}
	if IsPermanent(errDown) || IsPermanent(nil) {
		t.Error("plain error reported permanent")
	}
}

func TestBuild(t *testing.T) {
	full := Config{
		Order:      []string{ChannelSMS, ChannelEmail, ChannelWebhook},
		WebhookURL: "https://hooks.example.com/notify", WebhookSecret: "s",
		SMTP: SMTPConfig{Host: "smtp.example.com", From: "团购 <n@example.com>"},
		SMS:  SMSConfig{AccessKeyID: "id", AccessKeySecret: "sec", SignName: "邻里团", Templates: map[Kind]string{KindArrival: "SMS_1"}},
	}
	chans, err := Build(full)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range chans {
		names = append(names, c.Name())
	}
	if got := strings.Join(names, ","); got != "sms,email,webhook" {
		t.Errorf("order = %s", got)
	}

	// Unconfigured channels are left out; the default order applies.
	chans, err = Build(Config{SMTP: full.SMTP})
	if err != nil || len(chans) != 1 || chans[0].Name() != ChannelEmail {
		t.Errorf("only e-mail: %v, %v", chans, err)
	}

	for name, cfg := range map[string]Config{
		"webhook without secret": {WebhookURL: "https://hooks.example.com"},
		"webhook bad url":        {WebhookURL: "hooks.example.com", WebhookSecret: "s"},
		"sms without sign name":  {SMS: SMSConfig{AccessKeyID: "id", AccessKeySecret: "sec", Templates: map[Kind]string{KindArrival: "SMS_1"}}},
		"bad from":               {SMTP: SMTPConfig{Host: "smtp.example.com", From: "nobody"}},
		"bad tls mode":           {SMTP: SMTPConfig{Host: "smtp.example.com", From: "n@example.com", TLS: "sometimes"}},
		"unknown channel":        {Order: []string{"wechat"}},
		"listed twice":           {Order: []string{ChannelEmail, ChannelEmail}},
	} {
		if _, err := Build(cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
