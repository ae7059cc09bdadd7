// Every kernel family, in one list. Included inside a per-ISA namespace (no headers here).
// To add an optimizer: write cpp/kernels/<name>.hpp, add it to both lists below, and add its
// NumPy twin to python/fastoptim/reference/kernels.py.
#include "common.hpp"
#include "storage.hpp"
#include "run.hpp"
#include "sgd.hpp"
#include "adam.hpp"
#include "adagrad.hpp"
#include "rmsprop.hpp"
#include "adamax.hpp"
#include "nadam.hpp"
#include "radam.hpp"
#include "adadelta.hpp"
#include "lion.hpp"
#include "ema.hpp"
#include "ceiling.hpp"

#define FASTOPTIM_FOR_EACH_KERNEL(X)                                                 \
    X(Sgd) X(Adam) X(Adagrad) X(Rmsprop) X(Adamax) X(Nadam) X(Radam) X(Adadelta) X(Lion) \
    X(Ema) X(Ceiling)
