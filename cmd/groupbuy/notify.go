package main

import (
	"fmt"
	"strings"

	"groupbuy/cmd/internal/config"
	"groupbuy/fulfillment/supply"
	"groupbuy/pickup/notify"
)

// notifyChannels builds the notice channels and quiet hours from the
// environment's settings; channels left unset are left out.
func notifyChannels(env config.NotifyEnv) ([]notify.Channel, notify.QuietHours, error) {
	quiet := notify.DefaultQuietHours()
	if env.QuietHours != "" {
		var err error
		if quiet, err = notify.ParseQuietHours(env.QuietHours); err != nil {
			return nil, quiet, fmt.Errorf("GROUPBUY_QUIET_HOURS: %w", err)
		}
	}
	cfg := notify.Config{
		WebhookURL: env.WebhookURL, WebhookSecret: env.WebhookSecret,
		SMTP: notify.SMTPConfig{Host: env.SMTPHost, Port: env.SMTPPort, Username: env.SMTPUsername, Password: env.SMTPPassword,
			From: env.SMTPFrom, TLS: notify.TLSMode(env.SMTPTLS)},
		SMS: notify.SMSConfig{Endpoint: env.SMSEndpoint, AccessKeyID: env.SMSKeyID, AccessKeySecret: env.SMSKeySecret,
			SignName: env.SMSSignName, Templates: map[notify.Kind]string{}},
	}
	for _, name := range strings.Split(env.Channels, ",") {
		if name = strings.TrimSpace(name); name != "" {
			cfg.Order = append(cfg.Order, name)
		}
	}
	for _, kv := range strings.Split(env.SMSTemplates, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		kind, code, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, quiet, fmt.Errorf("GROUPBUY_SMS_TEMPLATES: want kind=TEMPLATE_CODE pairs, got %q", kv)
		}
		cfg.SMS.Templates[notify.Kind(strings.TrimSpace(kind))] = strings.TrimSpace(code)
	}
	chans, err := notify.Build(cfg)
	return chans, quiet, err
}

// supplierMail is the e-mail channel purchase orders go to suppliers by:
// the notices' SMTP settings, with the order's subject; nil without them.
func supplierMail(env config.NotifyEnv) notify.Channel {
	if env.SMTPHost == "" {
		return nil
	}
	return notify.NewSMTP(notify.SMTPConfig{Host: env.SMTPHost, Port: env.SMTPPort, Username: env.SMTPUsername,
		Password: env.SMTPPassword, From: env.SMTPFrom, TLS: notify.TLSMode(env.SMTPTLS),
		Subjects: map[notify.Kind]string{supply.KindPurchaseOrder: "采购单"}})
}
