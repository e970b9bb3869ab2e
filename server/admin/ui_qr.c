/*
 * A QR code as inline SVG (README "Admin web console", **Challenges.**):
 * libqrencode makes the modules; the page gets one <path> of the dark
 * runs of each row on a white <rect>, with presentation attributes only
 * (the console's Content-Security-Policy forbids style attributes).
 */
#include <stddef.h>

#include <qrencode.h>

#include "buf.h"
#include "ui_int.h"

#define QR_QUIET 4 /* modules of white border (ISO/IEC 18004 quiet zone) */
#define QR_PX 4	   /* pixels per module on the page */

/* Appends the SVG of text's QR code to b. Returns 0 or -1. */
int
ui_qr_svg(struct buf *b, const char *text)
{
	QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	int x, y, run, w, side;

	if (q == NULL)
		return -1;
	w = q->width;
	side = w + 2 * QR_QUIET;
	buf_printf(b,
	    "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"qr\" "
	    "role=\"img\" aria-label=\"QR code of the challenge\" "
	    "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
	    "shape-rendering=\"crispEdges\"><rect width=\"%d\" height=\"%d\" "
	    "fill=\"#fff\"/><path fill=\"#000\" d=\"",
	    side * QR_PX, side * QR_PX, side, side, side, side);
	for (y = 0; y < w; y++)
		for (x = 0; x<w; x += run> 0 ? run : 1) {
			for (run = 0;
			     x + run < w && (q->data[y * w + x + run] & 1) != 0;
			     run++)
				;
			if (run > 0)
				buf_printf(b, "M%d %dh%dv1h-%dz", x + QR_QUIET,
				    y + QR_QUIET, run, run);
		}
	QRcode_free(q);
	return buf_addstr(b, "\"/></svg>");
}
