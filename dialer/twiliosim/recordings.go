package twiliosim

import (
	"bytes"
	"encoding/binary"
	"net/http"
	"regexp"
	"strconv"
	"time"
)

// recording is one the simulator made, from <Record> or a call placed with
// Record=true.
type recording struct {
	sid, callSid string
	seconds      int
	created      time.Time
	source       string // RecordVerb or OutboundAPI
}

func (s *Simulator) addRecording(rec recording) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs[rec.sid] = rec
}

var recordingFile = regexp.MustCompile(`^(RE[0-9a-f]{32})(\.wav|\.json|\.mp3)?$`)

// maxRecordingSeconds bounds the audio served for one recording (Twilio's
// <Record> allows up to 4 hours; the simulator's recordings are minutes).
const maxRecordingSeconds = 4 * 60 * 60

// fetchRecording serves GET …/Recordings/{file} as Twilio does: the media
// as WAV with no extension or .wav, the metadata with .json. The audio is
// silence of the recording's length: 8 kHz, 16-bit mono PCM, as Twilio's
// WAV recordings are. It honours Range requests, as a browser's <audio>
// sends them. MP3 is not simulated (a 404 says so).
func (s *Simulator) fetchRecording(w http.ResponseWriter, r *http.Request) {
	m := recordingFile.FindStringSubmatch(r.PathValue("file"))
	if m == nil {
		writeError(w, notFound(r.URL.Path))
		return
	}
	s.mu.Lock()
	rec, ok := s.recs[m[1]]
	s.mu.Unlock()
	if !ok {
		writeError(w, notFound(r.URL.Path))
		return
	}
	switch m[2] {
	case ".json":
		writeJSON(w, http.StatusOK, map[string]any{
			"sid": rec.sid, "account_sid": s.accountSID, "call_sid": rec.callSid,
			"duration": strconv.Itoa(rec.seconds), "status": "completed", "source": rec.source,
			"channels": 1, "media_url": nil, "conference_sid": nil,
			"date_created": rec.created.UTC().Format(time.RFC1123Z),
			"date_updated": rec.created.UTC().Format(time.RFC1123Z),
			"start_time":   rec.created.UTC().Format(time.RFC1123Z),
			"uri":          "/" + apiVersion + "/Accounts/" + s.accountSID + "/Recordings/" + rec.sid + ".json",
		})
	case ".mp3":
		writeError(w, &apiError{Status: http.StatusNotFound, Code: 20404,
			Message: "The simulator serves recordings as .wav and .json only: " + r.URL.Path})
	default:
		w.Header().Set("Content-Type", "audio/x-wav")
		http.ServeContent(w, r, rec.sid+".wav", rec.created, bytes.NewReader(silentWAV(min(rec.seconds, maxRecordingSeconds))))
	}
}

// silentWAV is a RIFF/WAVE file of seconds of silence, 8 kHz 16-bit mono.
func silentWAV(seconds int) []byte {
	const rate, bits, channels = 8000, 16, 1
	data := uint32(seconds * rate * bits / 8 * channels)
	var b bytes.Buffer
	b.Grow(44 + int(data))
	put := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	put(36 + data)
	b.WriteString("WAVEfmt ")
	put(uint32(16))                         // fmt chunk size
	put(uint16(1))                          // PCM
	put(uint16(channels))                   // channels
	put(uint32(rate))                       // sample rate
	put(uint32(rate * channels * bits / 8)) // byte rate
	put(uint16(channels * bits / 8))        // block align
	put(uint16(bits))                       // bits per sample
	b.WriteString("data")
	put(data)
	b.Write(make([]byte, data))
	return b.Bytes()
}
