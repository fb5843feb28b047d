"""Cases whose bytes are not a readable model: made by serializing a valid
model and then cutting or editing the protobuf wire format."""
import numpy as np

from bad_lib import PARSE, case, save, valid_model

IR_VERSION_FIELD, GRAPH_FIELD = 1, 7  # ModelProto field numbers


def read_varint(data, pos):
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def encode_varint(value):
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def top_field(data, number):
    """(wire_type, tag_pos, value_pos) of top-level field `number`."""
    pos = 0
    while pos < len(data):
        tag_pos = pos
        tag, pos = read_varint(data, pos)
        if tag >> 3 == number:
            return tag & 7, tag_pos, pos
        wire = tag & 7
        if wire == 0:
            _, pos = read_varint(data, pos)
        elif wire == 1:
            pos += 8
        elif wire == 2:
            size, pos = read_varint(data, pos)
            pos += size
        elif wire == 5:
            pos += 4
        else:
            raise ValueError(f"unexpected wire type {wire}")
    raise KeyError(number)


def retag(data, number, wire_type):
    """Flip the wire type of a top-level field, leaving its payload alone."""
    _, tag_pos, value_pos = top_field(data, number)
    assert value_pos == tag_pos + 1, "one-byte tags only"
    out = bytearray(data)
    out[tag_pos] = (number << 3) | wire_type
    return bytes(out)


def huge_length(data):
    """Replace the graph's length prefix with 2^62."""
    _, _, value_pos = top_field(data, GRAPH_FIELD)
    _, end = read_varint(data, value_pos)
    return data[:value_pos] + encode_varint(1 << 62) + data[end:]


def byte_case(name, why, mutate, expect=None):
    """Register a case made by mutating the bytes of valid_model()."""
    def build(path, bad):
        data = valid_model().SerializeToString()
        save(mutate(data) if bad else data, path)
    case(name, why, expect or [PARSE])(build)


byte_case("empty", "an empty file (protobuf reads it as a model with nothing)",
          lambda d: b"", [["empty", "graph"]])
byte_case("truncated", "a valid model cut in half, inside an initializer",
          lambda d: d[:len(d) // 2])
byte_case("text_file", "a text-format model instead of binary protobuf",
          lambda d: b'ir_version: 8\ngraph {\n  node { op_type: "Relu" }\n}\n')
byte_case("random_bytes", "4 KiB of seeded random bytes",
          lambda d: np.random.default_rng(20240611).bytes(4096))
byte_case("wire_type_invalid", "the graph field's tag has wire type 7, "
          "which does not exist", lambda d: retag(d, GRAPH_FIELD, 7))
byte_case("wire_type_group", "the graph field's tag says start-group (3); "
          "no matching end-group follows", lambda d: retag(d, GRAPH_FIELD, 3))
byte_case("wire_type_mismatch", "the graph (a message) is tagged fixed64, "
          "so the parser lands mid-message",
          lambda d: retag(d, GRAPH_FIELD, 1))
# Generic protobuf parsers skip a known field with the wrong wire type as an
# unknown one (and then see no graph); protobuf-c rejects it. Either is fine.
byte_case("wire_type_len_for_varint", "ir_version (a varint) tagged as "
          "length-delimited: its value swallows the graph's tag",
          lambda d: retag(d, IR_VERSION_FIELD, 2), [PARSE + ["graph"]])
byte_case("length_prefix_huge", "the graph's length prefix claims 2^62 bytes "
          "(must not allocate it)", huge_length, [PARSE + ["length"]])
byte_case("overlong_varint", "ir_version encoded as an 11-byte varint "
          "(at most 10 are legal)",
          lambda d: d[:1] + b"\x88" + b"\x80" * 9 + b"\x00" + d[2:])


@case("no_graph", "a ModelProto with an opset but no graph", ["graph"])
def _no_graph(path, bad):
    model = valid_model()
    if bad:
        model.ClearField("graph")
    save(model, path)
