package notify

import (
	"errors"
	"fmt"
	"net/url"
)

// Config lists the channels the app fills from its environment.
type Config struct {
	Order         []string // channel names in fallback order; default ["webhook","sms","email"]
	WebhookURL    string   // receiver of signed JSON notices; "" leaves the webhook out
	WebhookSecret string   // HMAC key shared with the receiver
	Webhook       WebhookOptions
	SMTP          SMTPConfig // Host "" leaves e-mail out
	SMS           SMSConfig  // AccessKeyID "" leaves SMS out
}

// Build returns the configured channels in cfg.Order, leaving out those
// whose settings are empty. A channel set up only halfway is an error
// rather than a silent gap: an operator who gave a webhook URL expects
// notices there.
func Build(cfg Config) ([]Channel, error) {
	order := cfg.Order
	if len(order) == 0 {
		order = []string{ChannelWebhook, ChannelSMS, ChannelEmail}
	}
	var chans []Channel
	seen := map[string]bool{}
	var errs []error
	for _, name := range order {
		if seen[name] {
			errs = append(errs, fmt.Errorf("notify: channel %q listed twice", name))
			continue
		}
		seen[name] = true
		switch name {
		case ChannelWebhook:
			if cfg.WebhookURL == "" {
				continue
			}
			if u, err := url.Parse(cfg.WebhookURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				errs = append(errs, fmt.Errorf("notify: webhook URL %q is not an http(s) URL", cfg.WebhookURL))
				continue
			}
			if cfg.WebhookSecret == "" {
				errs = append(errs, errors.New("notify: webhook URL set without a secret"))
				continue
			}
			chans = append(chans, NewWebhook(cfg.WebhookURL, cfg.WebhookSecret, cfg.Webhook))
		case ChannelSMS:
			s := cfg.SMS
			if s.AccessKeyID == "" {
				continue
			}
			if s.AccessKeySecret == "" || s.SignName == "" || len(s.Templates) == 0 {
				errs = append(errs, errors.New("notify: SMS needs an access key secret, a sign name and at least one template"))
				continue
			}
			chans = append(chans, NewAliyunSMS(s))
		case ChannelEmail:
			if cfg.SMTP.Host == "" {
				continue
			}
			m := NewSMTP(cfg.SMTP)
			if m.err != nil {
				errs = append(errs, m.err)
				continue
			}
			switch cfg.SMTP.TLS {
			case "", TLSOpportunistic, TLSRequired, TLSImplicit:
			default:
				errs = append(errs, fmt.Errorf("notify: unknown SMTP TLS mode %q", cfg.SMTP.TLS))
				continue
			}
			chans = append(chans, m)
		default:
			errs = append(errs, fmt.Errorf("notify: unknown channel %q", name))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return chans, nil
}
