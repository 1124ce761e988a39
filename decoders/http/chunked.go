package http

import "bytes"

// maxChunkLine caps a chunk-size line (size, extensions) and a trailer line.
const maxChunkLine = 4096

// ChunkedLen returns how many bytes the chunked body at the start of b takes, through the
// last-chunk, trailer fields and the final empty line (RFC 9112 section 7.1), so that the
// next message in the stream can be found. It returns ErrNeedMore while the body is
// incomplete and ErrMalformed for a body that is not chunked coding.
func ChunkedLen(b []byte) (int, error) {
	off := 0
	for {
		line, next, err := chunkLine(b, off)
		if err != nil {
			return 0, err
		}
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i] // chunk extensions
		}
		line = bytes.TrimRight(line, " \t")
		if len(line) == 0 || len(line) > 16 {
			return 0, ErrMalformed
		}
		var size uint64
		for _, c := range line {
			var d byte
			switch {
			case '0' <= c && c <= '9':
				d = c - '0'
			case 'a' <= c && c <= 'f':
				d = c - 'a' + 10
			case 'A' <= c && c <= 'F':
				d = c - 'A' + 10
			default:
				return 0, ErrMalformed
			}
			size = size<<4 | uint64(d)
		}
		off = next
		if size == 0 {
			break
		}
		if size > uint64(len(b)-off) {
			return 0, ErrNeedMore
		}
		off += int(size)
		// CRLF after the data.
		switch {
		case len(b)-off >= 2 && b[off] == '\r' && b[off+1] == '\n':
			off += 2
		case len(b)-off >= 1 && b[off] == '\n':
			off++
		case len(b)-off < 2 && (len(b) == off || b[off] == '\r'):
			return 0, ErrNeedMore
		default:
			return 0, ErrMalformed
		}
	}
	// Trailer fields, then the empty line.
	for {
		line, next, err := chunkLine(b, off)
		if err != nil {
			return 0, err
		}
		off = next
		if len(line) == 0 {
			return off, nil
		}
	}
}

// chunkLine returns the line starting at off without its CRLF (or LF) and the offset after it.
func chunkLine(b []byte, off int) (line []byte, next int, err error) {
	rest := b[off:]
	i := bytes.IndexByte(rest[:min(len(rest), maxChunkLine)], '\n')
	if i < 0 {
		if len(rest) >= maxChunkLine {
			return nil, 0, ErrMalformed
		}
		return nil, 0, ErrNeedMore
	}
	line = rest[:i]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	return line, off + i + 1, nil
}
