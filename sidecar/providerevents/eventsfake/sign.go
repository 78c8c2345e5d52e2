package eventsfake

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"
)

// NewResendSecret returns a signing secret as Resend shows it: whsec_ and 24
// random bytes in base64.
func NewResendSecret() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// Resend returns the headers Svix sends with a Resend webhook message: svix-id,
// svix-timestamp and svix-signature "v1,<base64 HMAC-SHA256>" over
// "<id>.<timestamp>.<body>", keyed with the secret's base64 part.
func Resend(secret, id string, at time.Time, body []byte) http.Header {
	key, err := base64.StdEncoding.DecodeString(secret[len("whsec_"):])
	if err != nil {
		panic("eventsfake: not a whsec_ secret")
	}
	ts := strconv.FormatInt(at.Unix(), 10)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "." + string(body)))
	h := http.Header{}
	h.Set("svix-id", id)
	h.Set("svix-timestamp", ts)
	h.Set("svix-signature", "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	h.Set("Content-Type", "application/json")
	return h
}

// NewSendGridKey returns a key pair like the one SendGrid makes when the Signed
// Event Webhook is turned on, and the verification key as Mail Settings shows
// it (base64 of the DER public key).
func NewSendGridKey() (*ecdsa.PrivateKey, string) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		panic(err)
	}
	return k, base64.StdEncoding.EncodeToString(der)
}

// SendGrid returns the headers of a signed Event Webhook post: the ECDSA
// signature (ASN.1, base64) of SHA-256(timestamp + body), and the timestamp.
func SendGrid(k *ecdsa.PrivateKey, at time.Time, body []byte) http.Header {
	ts := strconv.FormatInt(at.Unix(), 10)
	digest := sha256.Sum256(append([]byte(ts), body...))
	sig, err := ecdsa.SignASN1(rand.Reader, k, digest[:])
	if err != nil {
		panic(err)
	}
	h := http.Header{}
	h.Set("X-Twilio-Email-Event-Webhook-Signature", base64.StdEncoding.EncodeToString(sig))
	h.Set("X-Twilio-Email-Event-Webhook-Timestamp", ts)
	h.Set("Content-Type", "application/json")
	return h
}

// Postmark returns the headers Postmark sends for a webhook URL with
// credentials (https://user:password@host/…): HTTP Basic authorization.
func Postmark(user, password string) http.Header {
	r, _ := http.NewRequest(http.MethodPost, "http://x", nil)
	r.SetBasicAuth(user, password)
	r.Header.Set("Content-Type", "application/json")
	return r.Header
}

// Twilio returns X-Twilio-Signature for a form POST to fullURL (the URL as
// Twilio called it, query included): base64 HMAC-SHA1, keyed with the auth
// token, of the URL followed by every parameter, sorted by name, as name then
// value.
func Twilio(authToken, fullURL string, form url.Values) http.Header {
	names := make([]string, 0, len(form))
	for k := range form {
		names = append(names, k)
	}
	sort.Strings(names)
	s := fullURL
	for _, k := range names {
		for _, v := range form[k] {
			s += k + v
		}
	}
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(s))
	h := http.Header{}
	h.Set("X-Twilio-Signature", base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	return h
}
