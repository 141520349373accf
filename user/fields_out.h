/* fields_out: a dissected message (dissect.h) printed as a -V tree, a -X
 * hex and ASCII dump, or one --json=fields object; and the description of
 * every field (`catrace fields --json`).  Where each field is in the frame
 * comes from the message's position (ca_msg.at) and the packet's
 * (msg_ctx data_*). */
#ifndef CATRACE_FIELDS_OUT_H
#define CATRACE_FIELDS_OUT_H

#include <stdbool.h>
#include <stdio.h>

#include "ca_decode.h"
#include "output.h"
#include "sbuf.h"

/* After the message's line: "\n" and its field tree (o->tree), its bytes
 * in hex and ASCII (o->hexdump); no final newline.  With o->all_layers,
 * the frame's headers before the CA fields. */
void fields_out_text(struct sbuf *sb, const struct output *o, const struct msg_ctx *c,
		     const struct ca_msg *m);
/* One JSON object for the message, its fields under "layers" (the
 * frame's headers too with o->all_layers). */
void fields_out_json(struct sbuf *sb, const struct output *o, const struct msg_ctx *c,
		     const struct ca_msg *m);
/* The fields' descriptions and the dictionaries, as one JSON document. */
void fields_describe_json(struct sbuf *sb);

#endif
