// `koa2` is an npm alias of koa@2; @types/koa describes both majors' public API.
declare module 'koa2' {
  import Koa from 'koa';
  export default Koa;
}
