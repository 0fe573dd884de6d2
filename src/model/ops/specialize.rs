//! Run-time specialisation of generic model code to one concrete backend: a value of a generic
//! type moves into the concrete type when the two are the same type, and back again. Safe (through
//! `Any`), no allocation, and free after inlining; lets a layer take a faster path on `flex`
//! without a backend trait bound spreading through every model type.

use std::any::Any;

/// `Ok(t)` as `U` when `T` is `U`, else `Err(t)` unchanged.
pub fn cast<T: 'static, U: 'static>(t: T) -> Result<U, T> {
    let mut slot = Some(t);
    match (&mut slot as &mut dyn Any).downcast_mut::<Option<U>>() {
        Some(u) => Ok(u.take().expect("the slot was filled just above")),
        None => Err(slot.expect("the slot is untouched when the types differ")),
    }
}

/// `t` as `U`, for a cast between types already known to be equal (a value cast into a concrete
/// backend and back, or a module on the same backend as its input); panics if they are not.
pub fn same<T: 'static, U: 'static>(t: T) -> U {
    cast(t).unwrap_or_else(|_| panic!("same: {} is not {}", std::any::type_name::<T>(), std::any::type_name::<U>()))
}

#[cfg(test)]
mod tests {
    use super::cast;

    #[test]
    fn casts_only_between_equal_types() {
        assert_eq!(cast::<u32, u32>(7), Ok(7));
        assert_eq!(cast::<u32, i32>(7), Err(7));
        assert_eq!(cast::<String, String>("a".into()), Ok("a".to_string()));
    }
}
