package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Streamer is the baseline plugin's server stream: the plugin sends total
// bytes in messages of chunk bytes, the shape of a log or file stream with
// no Molecule layers.
type Streamer interface {
	Stream(ctx context.Context, total, chunk int, send func([]byte) error) error
}

const streamMethod = "/bench.Bare/Stream"

// The request is a BytesValue of two big-endian uint64: total, then chunk.
var bareStreamDesc = grpc.StreamDesc{
	StreamName:    "Stream",
	ServerStreams: true,
	Handler: func(srv any, stream grpc.ServerStream) error {
		in := new(wrapperspb.BytesValue)
		if err := stream.RecvMsg(in); err != nil {
			return err
		}
		total, chunk, err := decodeStreamRequest(in.Value)
		if err != nil {
			return err
		}
		return srv.(Streamer).Stream(stream.Context(), total, chunk, func(p []byte) error {
			return stream.SendMsg(wrapperspb.Bytes(p))
		})
	},
}

func encodeStreamRequest(total, chunk int) []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint64(b, uint64(total))
	binary.BigEndian.PutUint64(b[8:], uint64(chunk))
	return b
}

func decodeStreamRequest(b []byte) (total, chunk int, err error) {
	if len(b) != 16 {
		return 0, 0, fmt.Errorf("stream request has %d bytes, want 16", len(b))
	}
	total, chunk = int(binary.BigEndian.Uint64(b)), int(binary.BigEndian.Uint64(b[8:]))
	if total < 0 || chunk <= 0 {
		return 0, 0, fmt.Errorf("stream request wants total %d in chunks of %d", total, chunk)
	}
	return total, chunk, nil
}

// Stream asks the plugin for total bytes in chunks of chunk bytes and
// passes each message to recv.
func (b bareClient) Stream(ctx context.Context, total, chunk int, recv func([]byte) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s, err := b.c.NewStream(ctx, &bareStreamDesc, streamMethod)
	if err != nil {
		return err
	}
	if err := s.SendMsg(wrapperspb.Bytes(encodeStreamRequest(total, chunk))); err != nil {
		return err
	}
	if err := s.CloseSend(); err != nil {
		return err
	}
	for {
		msg := new(wrapperspb.BytesValue)
		if err := s.RecvMsg(msg); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
		if err := recv(msg.Value); err != nil {
			return err
		}
	}
}

// SendChunks calls send with total bytes of buf, len(buf) at a time: the
// plugin side of Stream, shared by the baseline and the nop backend so both
// send exactly the same bytes.
func SendChunks(total int, buf []byte, send func([]byte) error) error {
	for total > 0 {
		n := min(total, len(buf))
		if err := send(buf[:n]); err != nil {
			return err
		}
		total -= n
	}
	return nil
}
