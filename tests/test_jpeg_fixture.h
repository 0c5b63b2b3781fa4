/* test_jpeg_fixture.h: in-memory JPEG encoding for the dataset tests' fixtures.
 * Include after <jpeglib.h>, <stdlib.h> and <string.h>; the caller frees returned buffers. */
#ifndef XAI_TEST_JPEG_FIXTURE_H
#define XAI_TEST_JPEG_FIXTURE_H

/* A (H, W, comps) image of one colour v (comps values). */
static uint8_t *solid(int w, int h, int comps, const uint8_t *v)
{
    uint8_t *p = malloc((size_t)w * h * comps);
    for (int i = 0; i < w * h; i++) memcpy(p + (size_t)i * comps, v, comps);
    return p;
}

/* Encodes pixels (H, W, comps) as a JPEG in the given colour space. */
static uint8_t *jpeg_encode(const uint8_t *px, int w, int h, int comps, J_COLOR_SPACE cs, size_t *len)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    unsigned char *out = NULL;
    unsigned long n = 0;
    jpeg_mem_dest(&c, &out, &n);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = comps;
    c.in_color_space = cs;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 95, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW r = (JSAMPROW)(px + (size_t)c.next_scanline * w * comps);
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    *len = n;
    return out;
}

#endif
