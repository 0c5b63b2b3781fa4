/* registry.c: the datasets xai knows: names, upstream files and checksums, class ids and names,
 * image sizes; and the fetch options resolved against them and the environment. */
#include "datasets/dataset_priv.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char *const DIGIT_IDS[10] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
static const char *const FASHION_NAMES[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                              "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
/* WordNet ids in sorted order: label i is the i-th folder, as torchvision's ImageFolder numbers them. */
static const char *const NETTE_IDS[10] = {"n01440764", "n02102040", "n02979186", "n03000684", "n03028079",
                                          "n03394916", "n03417042", "n03425413", "n03445777", "n03888257"};
static const char *const NETTE_NAMES[10] = {"tench", "English springer", "cassette player", "chain saw", "church",
                                            "French horn", "garbage truck", "gas pump", "golf ball", "parachute"};
static const char *const WOOF_IDS[10] = {"n02086240", "n02087394", "n02088364", "n02089973", "n02093754",
                                         "n02096294", "n02099601", "n02105641", "n02111889", "n02115641"};
static const char *const WOOF_NAMES[10] = {"Shih-Tzu", "Rhodesian ridgeback", "beagle", "English foxhound",
                                           "Border terrier", "Australian terrier", "golden retriever",
                                           "Old English sheepdog", "Samoyed", "dingo"};

static const xai_ds_def DATASETS[] = {
    {"mnist", 0, "https://ossci-datasets.s3.amazonaws.com/mnist/", 4,
     {{"train-images-idx3-ubyte.gz", "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", NULL, NULL},
      {"train-labels-idx1-ubyte.gz", "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", NULL, NULL},
      {"t10k-images-idx3-ubyte.gz", "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", NULL, NULL},
      {"t10k-labels-idx1-ubyte.gz", "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", NULL, NULL}},
     NULL, DIGIT_IDS, DIGIT_IDS, 28},
    /* The dataset's own host serves plain HTTP only; the MD5s below guard integrity. */
    {"fashion-mnist", 0, "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/", 4,
     {{"train-images-idx3-ubyte.gz", NULL, "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
       "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"},
      {"train-labels-idx1-ubyte.gz", NULL, "25c81989df183df01b3e8a0aad5dffbe",
       "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"},
      {"t10k-images-idx3-ubyte.gz", NULL, "bef4ecab320f06d8554ea6380940ec79",
       "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"},
      {"t10k-labels-idx1-ubyte.gz", NULL, "bb300cfdad3c16e7a12a480ee83cd310",
       "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"}},
     "fashion-mnist", DIGIT_IDS, FASHION_NAMES, 28},
    {"imagenette", 1, "https://s3.amazonaws.com/fast-ai-imageclas/", 1,
     {{"imagenette2-160.tgz", NULL, "c475f8f7617a200ba35b9facc48443c3", NULL}}, NULL, NETTE_IDS, NETTE_NAMES, 64},
    {"imagewoof", 1, "https://s3.amazonaws.com/fast-ai-imageclas/", 1,
     {{"imagewoof2-160.tgz", NULL, "3559b194123981a540b87132dbda412f", NULL}}, NULL, WOOF_IDS, WOOF_NAMES, 64},
};
#define NDATASETS (int)(sizeof DATASETS / sizeof *DATASETS)
#define MIN_SIZE 8
#define MAX_SIZE 512

const xai_ds_def *xai_ds_find(const char *name)
{
    for (int i = 0; i < NDATASETS; i++)
        if (name && !strcmp(DATASETS[i].name, name)) return &DATASETS[i];
    return NULL;
}

int xai_dataset_known(const char *name) { return xai_ds_find(name) != NULL; }

int xai_dataset_count(void) { return NDATASETS; }

const char *xai_dataset_name(int i) { return i >= 0 && i < NDATASETS ? DATASETS[i].name : NULL; }

int xai_dataset_resizable(const char *name)
{
    const xai_ds_def *d = xai_ds_find(name);
    return d && d->archive;
}

void xai_ds_say(const char *fmt, ...)
{
    if (xai_quiet) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

const char *xai_ds_data_dir(const char *given)
{
    const char *dd = given && *given ? given : getenv("XAI_DATA_DIR");
    return dd && *dd ? dd : "./data";
}

static xai_status resolve_size(xai_ds_opts *r, const char *name, int size)
{
    if (!r->def->archive) {
        if (size != 0 && size != 28)
            return xai_fail(XAI_EINVAL, "%s: images are 28x28, size %d requested (the size option applies to imagenette and imagewoof)",
                            name, size);
        r->size = 28;
        return XAI_OK;
    }
    r->size = size ? size : r->def->default_size;
    if (r->size < MIN_SIZE || r->size > MAX_SIZE)
        return xai_fail(XAI_EINVAL, "%s: image size %d, expected %d..%d", name, r->size, MIN_SIZE, MAX_SIZE);
    return XAI_OK;
}

xai_status xai_ds_resolve(xai_ds_opts *r, const char *name, const xai_fetch_opts *o)
{
    static const xai_fetch_opts none;
    if (!o) o = &none;
    memset(r, 0, sizeof *r);
    r->def = xai_ds_find(name);
    if (!r->def) return xai_fail(XAI_ENOTFOUND, "unknown dataset '%s'; expected one of: %s", name ? name : "(null)",
                                 XAI_DATASET_NAMES);
    const char *dd = xai_ds_data_dir(o->data_dir);
    const char *mi = o->mirror ? o->mirror : getenv("XAI_MIRROR");
    if (!mi) mi = "";
    if (strlen(dd) >= sizeof r->data_dir - 64) return xai_fail(XAI_EINVAL, "data directory path too long: %s", dd);
    if (strlen(mi) >= sizeof r->mirror - 64) return xai_fail(XAI_EINVAL, "mirror path too long: %s", mi);
    snprintf(r->data_dir, sizeof r->data_dir, "%s", dd);
    snprintf(r->mirror, sizeof r->mirror, "%s", mi);
    /* "a/b/" and "a/b" name the same mirror; joined paths read better without the slash. */
    for (size_t n = strlen(r->mirror); n > 1 && r->mirror[n - 1] == '/'; n--) r->mirror[n - 1] = 0;
    r->skip_bad = o->skip_bad;
    return resolve_size(r, name, o->size);
}

char *xai_ds_cache_file(const xai_ds_opts *r)
{
    char base[96];
    snprintf(base, sizeof base, "%s-%d.h5", r->def->name, r->size);
    return xai_path_join(r->data_dir, base);
}

xai_status xai_dataset_cache_path(char **path, const char *name, const xai_fetch_opts *o)
{
    xai_ds_opts r;
    XAI_TRY(xai_ds_resolve(&r, name, o));
    *path = xai_ds_cache_file(&r);
    return XAI_OK;
}
