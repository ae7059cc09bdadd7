"""Independent NumPy transcriptions (float64) of Keras 3's and optax's optimizer updates, written
from their sources (keras/src/optimizers/*.py with base_optimizer.py; optax/_src/alias.py,
transform.py, tree_utils/_tree_math.py), in their own operation order. Each takes the params
(a list of arrays), a sequence of gradient lists and the library's own arguments, and returns
the params after every step (new arrays). Used by test_conventions.py and
test_keras_optax.py, with the small harness below; none of fastoptim's code is used here.
"""

from __future__ import annotations

import numpy as np

STEPS = 20


# --------------------------------------------------------------------------------- harness
def problem(scale, dtype=np.float64, seed=0, steps=STEPS):
    """Params (three shapes) and ``steps`` gradient lists of the given scale."""
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(dtype) for s in ((7, 5), (33,), (1,))]
    grads = [[(rng.standard_normal(p.shape) * scale).astype(dtype) for p in init]
             for _ in range(steps)]
    return init, grads


def run(make, options, init, grads):
    """The params after ``make(copies of init, **options).step(gs)`` for each gs in grads."""
    params = [p.copy() for p in init]
    opt = make(params, **options)
    for gs in grads:
        opt.step([g.copy() for g in gs])
    return params


def displacement_error(a, b, init):
    """max |(a - p0) - (b - p0)| / |b - p0| over all elements: the relative error of the
    distance travelled, which a small gradient does not hide behind the size of p."""
    return max(float(np.max(np.abs((x - p) - (y - p)) / np.abs(y - p)))
               for x, y, p in zip(a, b, init))


def _steps(params, grads, update, weight_decay=None, lr=0.0):
    """Runs update(t, i, p, g) -> new p for t = 1.., each param i, with Keras's decoupled
    weight decay p - p * wd * lr first (base_optimizer._apply_weight_decay)."""
    ps = [np.array(p, dtype=np.float64) for p in params]
    for t, gs in enumerate(grads, start=1):
        for i, g in enumerate(gs):
            if weight_decay is not None:
                ps[i] = ps[i] - ps[i] * weight_decay * lr
            ps[i] = update(t, i, ps[i], np.asarray(g, dtype=np.float64))
    return ps


def _state(params, value=0.0):
    return [np.full(np.shape(p), value, dtype=np.float64) for p in params]


def keras_lr(learning_rate):
    """Keras holds a constant learning_rate in a float32 variable (floatx)."""
    return float(np.float32(learning_rate))


# --------------------------------------------------------------------------------- Keras 3
def keras_sgd(params, grads, learning_rate=0.01, momentum=0.0, nesterov=False,
              weight_decay=None):
    lr = keras_lr(learning_rate)
    m = _state(params)

    def update(t, i, p, g):
        if momentum == 0:
            return p - g * lr
        m[i] = m[i] * momentum - g * lr
        return p + (m[i] * momentum - g * lr if nesterov else m[i])
    return _steps(params, grads, update, weight_decay, lr)


def keras_rmsprop(params, grads, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                  centered=False, weight_decay=None):
    lr = keras_lr(learning_rate)
    vel, mom, avg = _state(params), _state(params), _state(params)

    def update(t, i, p, g):
        vel[i] = rho * vel[i] + (1 - rho) * np.square(g)
        if centered:
            avg[i] = rho * avg[i] + (1 - rho) * g
            den = vel[i] - np.square(avg[i]) + epsilon
        else:
            den = vel[i] + epsilon
        inc = lr * g / np.sqrt(den)
        if momentum > 0:
            mom[i] = momentum * mom[i] + inc
            return p - mom[i]
        return p - inc
    return _steps(params, grads, update, weight_decay, lr)


def keras_adam(params, grads, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
               amsgrad=False, weight_decay=None):
    lr = keras_lr(learning_rate)
    m, v, vhat = _state(params), _state(params), _state(params)

    def update(t, i, p, g):
        alpha = lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
        m[i] = m[i] + (g - m[i]) * (1 - beta_1)
        v[i] = v[i] + (np.square(g) - v[i]) * (1 - beta_2)
        vv = v[i]
        if amsgrad:
            vhat[i] = np.maximum(vhat[i], v[i])
            vv = vhat[i]
        return p - (m[i] * alpha) / (np.sqrt(vv) + epsilon)
    return _steps(params, grads, update, weight_decay, lr)


def keras_adamw(params, grads, learning_rate=0.001, weight_decay=0.004, **kw):
    return keras_adam(params, grads, learning_rate, weight_decay=weight_decay, **kw)


def keras_adagrad(params, grads, learning_rate=0.001, initial_accumulator_value=0.1,
                  epsilon=1e-7, weight_decay=None):
    lr = keras_lr(learning_rate)
    acc = _state(params, initial_accumulator_value)

    def update(t, i, p, g):
        acc[i] = acc[i] + np.square(g)
        return p - (lr * g) / np.sqrt(acc[i] + epsilon)
    return _steps(params, grads, update, weight_decay, lr)


def keras_adamax(params, grads, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 weight_decay=None):
    lr = keras_lr(learning_rate)
    m, u = _state(params), _state(params)

    def update(t, i, p, g):
        m[i] = m[i] + (g - m[i]) * (1 - beta_1)
        u[i] = np.maximum(beta_2 * u[i], np.abs(g))
        return p - (lr * m[i]) / ((1 - beta_1**t) * (u[i] + epsilon))
    return _steps(params, grads, update, weight_decay, lr)


def keras_nadam(params, grads, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                weight_decay=None):
    lr = keras_lr(learning_rate)
    m, v = _state(params), _state(params)
    u_product = [1.0]

    def update(t, i, p, g):
        if i == 0:  # _backend_update_step: once per step, before the variables
            u_product[0] = u_product[0] * beta_1 * (1.0 - 0.5 * 0.96**t)
        u_t = beta_1 * (1.0 - 0.5 * 0.96**t)
        u_t_1 = beta_1 * (1.0 - 0.5 * 0.96 ** (t + 1))
        u_product_t = u_product[0]
        u_product_t_1 = u_product_t * u_t_1
        m[i] = m[i] + (g - m[i]) * (1 - beta_1)
        v[i] = v[i] + (np.square(g) - v[i]) * (1 - beta_2)
        m_hat = u_t_1 * m[i] / (1 - u_product_t_1) + (1 - u_t) * g / (1 - u_product_t)
        v_hat = v[i] / (1 - beta_2**t)
        return p - (m_hat * lr) / (np.sqrt(v_hat) + epsilon)
    return _steps(params, grads, update, weight_decay, lr)


def keras_adadelta(params, grads, learning_rate=0.001, rho=0.95, epsilon=1e-7,
                   weight_decay=None):
    lr = keras_lr(learning_rate)
    acc_g, acc_d = _state(params), _state(params)

    def update(t, i, p, g):
        acc_g[i] = rho * acc_g[i] + (1 - rho) * np.square(g)
        delta = -(np.sqrt(acc_d[i] + epsilon) * g) / np.sqrt(acc_g[i] + epsilon)
        acc_d[i] = rho * acc_d[i] + (1 - rho) * np.square(delta)
        return p + lr * delta
    return _steps(params, grads, update, weight_decay, lr)


def keras_lion(params, grads, learning_rate=0.001, beta_1=0.9, beta_2=0.99, weight_decay=None):
    lr = keras_lr(learning_rate)
    m = _state(params)

    def update(t, i, p, g):
        p = p - lr * np.sign(m[i] * beta_1 + g * (1.0 - beta_1))
        m[i] = m[i] * beta_2 + g * (1.0 - beta_2)
        return p
    return _steps(params, grads, update, weight_decay, lr)


# ----------------------------------------------------------------------------------- optax
# A chain of transformations: u = transform(g); p = p + u (apply_updates); lr(count) with
# count = steps taken. add_decayed_weights: u + wd * p; scale_by_learning_rate: -lr * u.
def _lr_at(learning_rate, t):
    return learning_rate(t - 1) if callable(learning_rate) else learning_rate


def optax_sgd(params, grads, learning_rate, momentum=None, nesterov=False):
    tr = _state(params)

    def update(t, i, p, g):
        u = g
        if momentum is not None:
            tr[i] = g + momentum * tr[i]
            u = g + momentum * tr[i] if nesterov else tr[i]
        return p + -_lr_at(learning_rate, t) * u
    return _steps(params, grads, update)


def optax_adam(params, grads, learning_rate, b1=0.9, b2=0.999, eps=1e-8, eps_root=0.0,
               nesterov=False, weight_decay=None):
    mu, nu = _state(params), _state(params)

    def update(t, i, p, g):
        mu[i] = (1 - b1) * g + b1 * mu[i]
        nu[i] = (1 - b2) * g**2 + b2 * nu[i]
        if nesterov:
            mu_hat = b1 * (mu[i] / (1 - b1 ** (t + 1))) + (1 - b1) * (g / (1 - b1**t))
        else:
            mu_hat = mu[i] / (1 - b1**t)
        nu_hat = nu[i] / (1 - b2**t)
        u = mu_hat / (np.sqrt(nu_hat + eps_root) + eps)
        if weight_decay is not None:
            u = u + weight_decay * p
        return p + -_lr_at(learning_rate, t) * u
    return _steps(params, grads, update)


def optax_adamw(params, grads, learning_rate, weight_decay=1e-4, **kw):
    return optax_adam(params, grads, learning_rate, weight_decay=weight_decay, **kw)


def optax_nadam(params, grads, learning_rate, **kw):
    return optax_adam(params, grads, learning_rate, nesterov=True, **kw)


def optax_amsgrad(params, grads, learning_rate, b1=0.9, b2=0.999, eps=1e-8, eps_root=0.0,
                  bias_correction_mu=True, bias_correction_nu=True):
    mu, nu, nu_max = _state(params), _state(params), _state(params)

    def update(t, i, p, g):
        mu[i] = (1 - b1) * g + b1 * mu[i]
        nu[i] = (1 - b2) * g**2 + b2 * nu[i]
        mu_hat = mu[i] / (1 - b1**t) if bias_correction_mu else mu[i]
        nu_eff = nu[i] / (1 - b2**t) if bias_correction_nu else nu[i]
        nu_max[i] = np.maximum(nu_max[i], nu_eff)
        u = mu_hat / (np.sqrt(nu_max[i] + eps_root) + eps)
        return p + -_lr_at(learning_rate, t) * u
    return _steps(params, grads, update)


def optax_adamax(params, grads, learning_rate, b1=0.9, b2=0.999, eps=1e-8):
    mu, nu = _state(params), _state(params)

    def update(t, i, p, g):
        mu[i] = (1 - b1) * g + b1 * mu[i]
        nu[i] = np.maximum(np.abs(g) + eps, b2 * nu[i])
        return p + -_lr_at(learning_rate, t) * ((mu[i] / (1 - b1**t)) / nu[i])
    return _steps(params, grads, update)


def optax_rmsprop(params, grads, learning_rate, decay=0.9, eps=1e-8, initial_scale=0.0,
                  eps_in_sqrt=True, centered=False, momentum=None):
    nu, mu, tr = _state(params, initial_scale), _state(params), _state(params)

    def update(t, i, p, g):
        nu[i] = (1 - decay) * g**2 + decay * nu[i]
        n = nu[i]
        if centered:
            mu[i] = (1 - decay) * g + decay * mu[i]
            n = nu[i] - mu[i] ** 2
        scaling = 1 / np.sqrt(n + eps) if eps_in_sqrt else 1 / (np.sqrt(n) + eps)
        u = -_lr_at(learning_rate, t) * (scaling * g)
        if momentum is not None:
            tr[i] = u + momentum * tr[i]
            u = tr[i]
        return p + u
    return _steps(params, grads, update)


def optax_adagrad(params, grads, learning_rate, initial_accumulator_value=0.1, eps=1e-7):
    ss = _state(params, initial_accumulator_value)

    def update(t, i, p, g):
        ss[i] = g**2 + ss[i]
        inv = np.where(ss[i] > 0, 1 / np.sqrt(ss[i] + eps), 0.0)
        return p + -_lr_at(learning_rate, t) * (inv * g)
    return _steps(params, grads, update)


def optax_adadelta(params, grads, learning_rate, rho=0.9, eps=1e-6, weight_decay=0.0):
    e_g, e_x = _state(params), _state(params)

    def update(t, i, p, g):
        g = g + weight_decay * p
        e_g[i] = (1 - rho) * g**2 + rho * e_g[i]
        u = (np.sqrt(e_x[i] + eps) / np.sqrt(e_g[i] + eps)) * g
        e_x[i] = (1 - rho) * u**2 + rho * e_x[i]
        return p + -_lr_at(learning_rate, t) * u
    return _steps(params, grads, update)


def optax_lion(params, grads, learning_rate, b1=0.9, b2=0.99, weight_decay=1e-3):
    mu = _state(params)

    def update(t, i, p, g):
        u = np.sign((1.0 - b1) * g + b1 * mu[i])
        mu[i] = (1 - b2) * g + b2 * mu[i]
        u = u + weight_decay * p
        return p + -_lr_at(learning_rate, t) * u
    return _steps(params, grads, update)
