package twilio

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
)

var recordingSID = regexp.MustCompile(`^RE[0-9a-f]{32}$`)

// Recording fetches a recording's audio as WAV with the account's
// credentials, as Twilio requires when HTTP authentication of media is on
// (and as works when it is off). byteRange, if not empty, is passed on as
// the Range header, so a browser's <audio> can seek. The caller reads and
// closes the body of a 200, a 206 or a 416 (a range past the end); any
// other answer is an error.
//
// WAV rather than MP3: Twilio refuses .mp3 for encrypted recordings, and
// browsers play 8 kHz PCM WAV.
func (c *Carrier) Recording(ctx context.Context, sid, byteRange string) (*http.Response, error) {
	if !recordingSID.MatchString(sid) {
		return nil, fmt.Errorf("twilio: %q is not a recording SID", sid)
	}
	u := "https://api.twilio.com/2010-04-01/Accounts/" + c.account + "/Recordings/" + sid + ".wav"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(c.account, c.key)
	if byteRange != "" {
		req.Header.Set("Range", byteRange)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("twilio: recording %s: %w", sid, err)
	}
	switch resp.StatusCode {
	case http.StatusOK, http.StatusPartialContent, http.StatusRequestedRangeNotSatisfiable:
	default:
		resp.Body.Close()
		return nil, fmt.Errorf("twilio: recording %s: %s", sid, resp.Status)
	}
	return resp, nil
}
